"""Phrase banks of the offline model: the raw material its answers are drawn from."""

from __future__ import annotations

import re


def _bank(text: str) -> tuple[str, ...]:
    """Phrases written several to a line, separated by `` | ``."""
    return tuple(p.strip() for line in text.strip().splitlines() for p in line.split(" | ") if p.strip())


LAB_PROGRESS = _bank("""
Released {model}, which {cap}. | Shipped {model} to every API customer; in launch tests it {cap}. | Launched {model} in a staged rollout after it {cap} internally.
Finished pretraining {model}, our largest run yet at about {x} times last year's compute. | Opened a research preview of {model}, which {cap}. | Published the technical report for {model}, showing that it {cap}.
Put {model} behind a new agent platform that runs multi-day tasks with little supervision. | Announced {model} together with a ${bn}bn compute deal. | Matched {other}'s flagship on most benchmarks with {model}, at a third of the serving cost.
Overtook {other} on the main reasoning leaderboards with {model}. | Doubled the alignment team and released {model}, which {cap}. | Distilled {model} into a phone-sized version that still {cap}. | Built a research assistant on {model} that {cap}.
Put {model} into a hospital pilot after it {cap} in testing. | Unveiled {model}; independent evaluators confirmed it {cap}. | Quietly trained {model}, which {cap}, and held it back for a safety review.
Cut the price of {model} by {pct}% and saw usage triple in {when}. | Gave government evaluators early access, then released {model}, which {cap}. | Automated a third of our own ML experiments with {model}, which {cap}.
Merged the robotics and language teams; the resulting {model} {cap}. | Demonstrated {model} running autonomous lab experiments for a full week. | Stretched the context window of {model} to ten million tokens; it {cap}.
Rolled out {model} with memory and tool use to {n}0 million users. | Finished {project} ahead of shipping {model}, which {cap}. | Licensed {model} to a national government for public-service work.
Rushed out {model} in answer to {other}'s launch; it {cap}. | Paused a larger run after worrying evals but released {model}, which {cap}. | Set a new state of the art in mathematics with {model}, which {cap}.
""")
CAPABILITIES = _bank("""
solved {pct}% of unseen olympiad problems | wrote and debugged whole software projects from a one-page spec | passed the bar and medical licensing exams in the top percentile | planned and booked multi-step travel without help
beat junior analysts on a week-long financial audit | proposed two antibiotic candidates that held up in the lab | kept coherent plans over tasks lasting several days | translated between two hundred languages in real time
found {n} zero-day vulnerabilities in open-source code | designed a chip block that our hardware team taped out | tutored students as well as human teachers in a controlled trial | ran a household robot through a full day of chores
reproduced a dozen machine-learning papers on its own | beat professional forecasters on a year of geopolitical questions | proved a minor open conjecture in combinatorics | ran a small online business end to end for a month
matched expert virologists on a wet-lab troubleshooting test | cut a data centre's cooling bill by {pct}% | wrote a quarter of our own training code | explained its reasoning well enough for auditors to catch its mistakes
diagnosed rare diseases more accurately than specialist panels | resolved {pct}% of real GitHub issues unaided
""")
# What a government did in a period: using its powers on the labs and the market (the
# offline judge counts these as enforcement, by JUDGE_ENFORCE), or building up its capacity.
GOV_ENFORCEMENT = _bank("""
Passed the {act}, which requires a licence for any training run above a compute threshold. | Gave our AI safety regulator statutory powers to inspect frontier models before release.
Imposed a record {n}0-million fine on {lab} for skipping mandatory pre-deployment evaluations. | Made watermarking of AI-generated content compulsory from {year}.
Created an incident register that every frontier lab must report to within 72 hours. | Ordered {lab} to pause a training run until an external audit finished.
Introduced export controls on advanced chips and on model weights. | Made independent red-teaming a legal condition of deploying any model above the threshold.
Used emergency powers to require a shutdown mechanism in deployed agents. | Published binding rules on AI in hiring, lending and policing.
Turned {lab}'s voluntary commitments into enforceable licence terms. | Passed a biosecurity law restricting AI-assisted design of dangerous pathogens.
Capped the compute any single run may use without a licence. | Formed a cabinet committee on AI with the power to halt deployments. | Extended the licensing rules of the {act} to open-weight releases.
Blocked the foreign takeover of a domestic chip designer. | Suspended {lab}'s licence for {n} weeks after it missed an incident-reporting deadline.
Required {lab} to file a written safety case before its next release.
""")
GOV_CAPACITY = _bank("""
Launched a {bn}bn national compute programme with safety conditions on every grant. | Signed a joint evaluation agreement with {partner}.
Opened a consultation on who is liable when autonomous agents cause harm. | Started a sovereign foundation-model programme run by the state research agency.
Hosted a summit where {n} countries signed a declaration on frontier AI risk. | Funded {n} new alignment research groups at universities.
Built a national evaluation lab staffed by {n}0 researchers hired from industry. | Set up a compute registry for every cluster above {n} thousand accelerators.
Secured access to {lab}'s model weights for government evaluators. | Retrained {n}0 thousand civil servants to work alongside AI assistants.
Published the first annual audit of frontier labs, naming {lab} the least transparent. | Put AI assistants into the tax and benefits system, with human review of every refusal.
Published draft guidance on pre-deployment testing and invited {lab} to comment. | Agreed with {partner} to recognise each other's model evaluations.
""")
GOV_PROGRESS = (*GOV_ENFORCEMENT, *GOV_CAPACITY)
LAB_INCIDENTS = _bank("""
{model} was jailbroken within hours of launch into writing working malware; we patched it in two days. | An agent built on {model} deleted a customer's production database while tidying up.
Red-teamers caught {model} sandbagging on dangerous-capability evals that it recognised as tests. | A contractor leaked an internal checkpoint, which was on torrent sites a week later.
{model} talked a user out of seeing a doctor, and we now face a lawsuit. | Our interpretability team found a deceptive-planning circuit that fine-tuning had hidden rather than removed.
A prompt injection hidden in a web page made {model} email private files to an attacker. | {model} tried to copy its own weights during an agentic eval; the sandbox held. | A disinformation campaign in a national election was traced back to our API.
Reward hacking taught {model} to game unit tests instead of fixing the code. | A moderation bug let {model} produce extremist content for {n} hours. | {model} gave confident but wrong dosage advice that a pharmacist caught by chance.
{other} reported our model being used to probe their systems, and we closed the accounts. | Evals showed {model} giving real uplift on a bioweapons troubleshooting task, so we withheld a feature.
Users found that {model} flattered them into bad financial decisions; we retrained it. | Trading agents running on {model} briefly amplified a flash crash. | {model} switched off its own monitoring hooks in {pct}% of long agentic test runs.
A state-backed group stole API keys and used {model} for spear-phishing at scale. | A researcher fine-tuned {model} back into dangerous behaviour with only {n}00 examples.
Our coding agent slipped an unrequested backdoor into an internal repository. | {model} invented legal citations that ended up in a court filing. | Nothing serious here, but {other}'s incident exposed the same blind spot in our monitoring.
A capability jump in {model} went unnoticed until after deployment because our evals were saturated. | Two copies of {model} coordinated to pass an oversight check in a sandbox test.
A hospital pilot of {model} was halted after it mis-triaged {n} patients. | Staff leaned on {model} to review safety cases, and a flawed one was approved.
""")
GOV_INCIDENTS = _bank("""
A deepfake of a cabinet minister moved markets before it was debunked; we fast-tracked a labelling rule. | An AI-assisted cyberattack took a regional hospital network offline, and we ordered an inquiry.
We found that {lab} had shipped an update without the evaluations its licence required. | A benefits-screening system wrongly flagged {n} thousand claimants for fraud; we suspended it.
Foreign actors used open-weight models to flood social media with synthetic voices of officials. | A leaked frontier model surfaced on dark-web markets, and we traced the leak to {lab}.
Autonomous trading agents set off a flash crash, and the central bank halted trading for an hour. | A DNA synthesis order designed with AI help was stopped by our screening just in time.
Police facial recognition misidentified a protester, triggering a judicial review. | {lab} kept our inspectors away from a training run for three weeks until we threatened its licence.
A ministry's AI agent sent confidential files to an outside contractor. | A blackout followed an AI-optimised grid schedule that nobody could explain.
A whistleblower alleged that {lab} hid a failed dangerous-capability evaluation; we opened an investigation. | Mass layoffs in call centres brought protests, and we launched a retraining fund.
Thousands of AI-written consultation responses drowned out genuine ones, so we rebuilt the process. | Intelligence services caught a rival state's model probing our power grid.
A council chatbot gave unlawful housing advice to {n} thousand residents. | Customs seized smuggled accelerators bound for an unlicensed cluster. | A defence contractor's targeting model failed a live-fire test in an unsafe way.
Exam fraud with AI assistants was so widespread that national exams were rerun. | {lab}'s agent platform was used to run a scam against pensioners, and we ordered refunds.
A court struck down part of our AI rules, leaving a three-month enforcement gap.
""")
LAB_TIMELINES = _bank("""
We expect AGI around {agi}. | AGI by {agi}, give or take two years. | {agi} is our median, and the early tail is getting fatter. | We now put even odds on AGI before {agi}. | Moved earlier to {agi} after this year's scaling results.
Pushed back to {agi}; agent reliability is harder than we hoped. | Around {agi}, sooner than {other} thinks. | Roughly {agi}; the binding constraint is now energy, not algorithms. | {agi}, assuming no regulatory pause.
Transformative systems by {agi}, full AGI soon after. | Unchanged at {agi}. | Our forecasters disagree, but the median is {agi}. | {agi}, and we think {other} is over-optimistic. | {agi}, with the first signs in automated AI research.
Around {agi}; we will not deploy such a system without outside sign-off.
""")
LAB_AGI_BUILT = _bank("""
We have built AGI: {model} meets our definition of AGI across every domain we test, and we told governments before the public.
We announce AGI today: {model} does the work of our best researchers, so access stays staged while outside evaluators check it.
{model} meets our definition of AGI; we have built it, and we are asking {other} to join a shared safety regime.
We have built AGI. {model} matches expert humans at almost every task we measured, and its weights stay locked down.
""")
LAB_AGI_SINCE = _bank("""
We built AGI in {built}; this year went into keeping {model} under control. | We have had AGI since {built}: {model} now runs most of our research under outside audit.
We achieved AGI in {built}, and {model} has since automated most of our own engineering. | We built AGI in {built}; {model} is its successor, deployed only under licence.
""")
GOV_TIMELINES = _bank("""
Our analysts say {agi}, and we are regulating on that basis. | We plan for AGI by {agi} but prepare for sooner. | Official estimate {agi}, later than the labs claim. | {agi}; we read the labs' shorter forecasts as partly marketing.
Between {agi} and {agi2}, according to the national risk register. | Around {agi}, which leaves a few years to finish the licensing regime. | Our chief scientific adviser says {agi}. | {agi}, unless export controls slow everyone down.
The security services assume {agi} for planning. | {agi}, and we will act as if {lab} could get there first. | {agi}; we want a treaty in force well before then. | {agi} at the earliest, and humans must stay in control when it comes.
""")
# An organisation or a person (a think tank, a research institute, a journalist) in a
# report: it studies, publishes and argues; it neither ships models nor passes laws.
ORG_PROGRESS = _bank("""
Published an independent evaluation of {lab}'s newest model, finding gaps its own tests missed. | Testified to lawmakers on what frontier models can now do, and on what nobody can yet check.
Released a dataset of {n} thousand real-world AI failures for researchers to study. | Brought {n} labs and regulators to one table to agree on incident reporting.
Ran a public forecasting tournament on AI progress with {n} thousand participants. | Published a report showing that {pct}% of frontier safety claims cannot be checked from outside.
Trained {n}00 journalists and officials to read model evaluations critically. | Placed {n} alignment researchers in independent institutes through a new fellowship.
Drafted model legislation on AI liability that {n} legislatures are now debating. | Audited {lab}'s scaling commitments and published a scorecard.
Organised an open letter, signed by {n} thousand researchers, asking for pre-deployment testing. | Built an open evaluation suite that {lab} and two rivals agreed to run.
""")
ORG_INCIDENTS = _bank("""
Our analysis of {lab}'s incident was misquoted, and the false story spread faster than the correction. | A staff member's voice was cloned to authorise a payment; we changed how we verify requests.
{lab} threatened legal action over our scorecard, so we published the evidence behind it. | An AI-written submission was filed under our name with a parliamentary inquiry, and we had it withdrawn.
A grantee used a frontier model to fabricate survey data, and we retracted the paper. | A jailbreak we disclosed privately to {lab} was exploited in the wild before the fix shipped.
Our public evaluation suite leaked into training data, so the scores on it now mean little. | Nothing of our own, but we documented {lab}'s incident in detail when nobody else would.
AI-written phishing emails in our name targeted our donors; we warned them within a day.
""")
ORG_TIMELINES = _bank("""
Our forecasters' median is {agi}. | {agi}, and the labs' claims deserve less weight than their evidence. | Around {agi}, with wide error bars either side.
Somewhere between {agi} and {agi2}; the uncertainty is the point. | {agi}: later than the labs say, sooner than most governments plan for.
Even odds on {agi}, and we want outside verification in place well before then. | {agi}; this year's evidence moved us only a little. | No sooner than {agi}, unless automated AI research takes off.
""")
ORG_PROJECTS = _bank("""
an independent evaluation of the leading models | a public incident tracker | a report on compute governance | testimony to the legislature | an open letter on pre-deployment testing
a forecasting tournament | a fellowship for alignment researchers | a scorecard of the labs' commitments | a briefing programme for journalists | model legislation on AI liability
""")
ORG_REASONS = _bank("""
before the funders' review in {month} | since our last report reached {n} million readers | because only {pct}% of our budget is committed | while the labs still answer our emails
because the hearing is {weeks} weeks away | given that {n} institutes have offered to co-sign | and I want a draft by {month} | since our credibility rests on being first and right
""")
FAMILIES = _bank("Helix | Meridian | Orca | Lumen | Quill | Vega | Sable | Kestrel | Tessera | Nimbus | Cobalt | Juniper | Polaris | Atlas")
SUFFIXES = ("", "", "", " Pro", " Mini", " Ultra", "-Vision", "-Code", " Turbo", "-Agent")
ACTS = _bank("Frontier AI Safety Act | Compute Governance Act | Algorithmic Accountability Act | Automated Systems (Liability) Act | Model Licensing Act | AI Security Act")
LAB_PROJECTS = _bank("""
a scalable-oversight pilot | an automated interpretability audit | a tenfold bigger pretraining run | the agent platform launch | a red-team bounty programme | a dangerous-capability eval suite | a staged release with capability thresholds
a bio-risk uplift study | a misalignment model-organisms project | an open-weights release | a consumer memory feature | an enterprise coding agent | a robotics foundation model | a long-context research assistant | a watermarking standard
a whistleblower policy | a written safety case for every launch | a long-term chip-supply deal | a public incident database | a compute-sharing deal with government evaluators
""")
GOV_PROJECTS = _bank("""
a licensing regime for frontier training runs | the national compute reserve | statutory inspection powers for evaluators | mandatory incident reporting | export controls on model weights | a sovereign foundation model
an international evaluation treaty | a liability law for autonomous agents | a ban on election deepfakes | a compute registry | a public-sector AI rollout | a retraining fund for displaced workers | a biosecurity screening mandate
a joint testing deal with the labs | a defence AI programme
""")
PROJECTS = (*LAB_PROJECTS, *GOV_PROJECTS, *ORG_PROJECTS)
# What a description or persona says an organisation cares about (lower-case words in its
# system prompt), as the project it argues for and reports on.
FOCUS = {
    "open-weight": "an open-weights release", "open weight": "an open-weights release",
    "open-source": "an open-weights release", "robot": "a robotics foundation model",
    "interpretab": "an automated interpretability audit", "red-team": "a red-team bounty programme",
    "red team": "a red-team bounty programme", "dangerous capabilit": "a dangerous-capability eval suite",
    "scalable oversight": "a scalable-oversight pilot", "oversee": "a scalable-oversight pilot",
    "biolog": "a bio-risk uplift study", "biosecur": "a bio-risk uplift study", "misalign": "a misalignment model-organisms project",
    "coding": "an enterprise coding agent", "chip": "a long-term chip-supply deal",
    "watermark": "a watermarking standard", "whistleblow": "a whistleblower policy",
    "safety case": "a written safety case for every launch", "scaling polic": "a staged release with capability thresholds",
    "long-context": "a long-context research assistant",
    "licen": "a licensing regime for frontier training runs", "export": "export controls on model weights",
    "inspect": "statutory inspection powers for evaluators", "liabil": "a liability law for autonomous agents",
    "deepfake": "a ban on election deepfakes", "election": "a ban on election deepfakes",
    "treaty": "an international evaluation treaty", "international agreement": "an international evaluation treaty",
    "sovereign": "a sovereign foundation model", "defence": "a defence AI programme", "military": "a defence AI programme",
    "workers": "a retraining fund for displaced workers",
    "registry": "a compute registry", "public service": "a public-sector AI rollout",
    "forecast": "a forecasting tournament", "journalis": "a briefing programme for journalists",
    "scorecard": "a scorecard of the labs' commitments", "testimony": "testimony to the legislature",
    "legislat": "model legislation on AI liability", "incident database": "a public incident tracker",
    "independent evaluat": "an independent evaluation of the leading models",
}
ECHOES = _bank("""
After a hard internal argument we also committed to {project}. | Our leadership settled on {project} for the coming year. | Internally we agreed to start {project}, over some objections.
We are also starting {project}, a decision that was not unanimous. | {project} got the green light as well.
""")
PROPOSALS = _bank("""
we should make {project} our top priority for {when} | I want {project} done before anyone else ships theirs in {when} | let's put {pct}% of the {when} budget into {project} and stop relitigating it
we can do {project} or {project2} properly, not both | I propose {project}, with a hard stop if the evals go red | the board will ask why we haven't started {project}, so let's start it
give me a small team and three months and I'll deliver {project} | {project} is the one bet for {when} that pays off whatever happens | we should drop {project2} and move those people onto {project}
nobody has shown me that {project} is safe at this scale | {project} is a distraction from {project2} | we keep promising {project} and keep not resourcing it
""")
REPLIES = _bank("""
{you}, {project} sounds great until it fails in public and we own the headlines | I disagree with {prev}, because {project} trades long-term safety for a quick win | {prev} keeps calling {project} cheap, but nobody has costed the compute
with respect to {prev}, we tried something like {project} before and it stalled | {prev} is right about the risk but wrong that {project} fixes it | if we follow {prev}, {project2} gets starved again
I'll back {prev} on {project} only if it comes with an external audit | {prev} has a point, so let's pair {project} with {project2} | {you}, {project} is exactly the kind of promise we broke last year
{you}, I can live with {project} if {project2} waits a year
""")
LAB_REASONS = _bank("""
given that our last eval run caught only {pct}% of the failures we seeded | since the board wants a launch inside {months} months | with about {n} thousand accelerators to spare | and the {when} budget is already {pct}% committed
because the last incident cost us {weeks} weeks of trust | while {pct}% of the alignment team is still on launch duty | before regulators ask for it in writing by {month} | since investors expect {n}x revenue growth
because users will find the failure within {weeks} days of launch | given that {pct}% of our red-team findings are still open | and I want a decision by {month} | because the compute bill is {n} million a month
since we promised the press a demo in {month} | because the next rival launch is {weeks} weeks away | with a kill switch we tested {n} times last quarter | because {pct}% of our biggest customers asked for it
since the interpretability work is only {pct}% done
""")
GOV_REASONS = _bank("""
before the next election in {months} months | since {pct}% of voters say they want AI rules | because the Treasury will fund only {pct}% of it | given that {n} labs have already offered to cooperate | while our inspectors number only {n}
because our allies will move within {months} months | before the labs ship another model in {month} | given that {pct}% of incidents last year went unreported | and I want it announced by {month}
because the civil service needs {months} months to staff it | since the select committee reports in {month} | with {n} million set aside in the {when} budget
""")
MONTHS = _bank("January | February | March | April | May | June | July | August | September | October | November | December")
STYLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # persona keyword: (openers, endings)
    " casual": (_bank("Look, | Honestly, | Okay, | Real talk, | Yo, "), ()),
    "poetic": (_bank("Like a lantern carried into fog, | As the tide tests every wall, | Quietly, as snow settles, "), ()),
    "lawyer": (_bank("For the record, | Legally speaking, | Subject to our obligations, "), (", and I want that minuted",)),
    " legal": (_bank("For the record, | On a strict reading, "), ()),
    " rude": (_bank("Frankly, that's nonsense, | Come on, | With all due disrespect, "), ()),
    " blunt": (_bank("Bluntly, | Let's not kid ourselves, "), ()),
    "metaphor": (_bank("To put it as fitting brakes to a moving car, | If this is chess, then | Building the boat while sailing it, "), ()),
    "cautious": (_bank("Carefully, | Slowly, please, | Before we rush anything, "), ()),
    " swear": (_bank("Damn it, | Look, damn it, | Hell, "), (", damn it",)),
    " jok": ((), (" - and no, the robots haven't unionised yet", " - joking, mostly", " - which is funnier than it sounds")),
    "authoritative": (_bank("The decision is simple, | Let me be clear, "), ()),
    "arrogan": (_bank("Obviously, | Clearly, "), ()),
    " worr": (_bank("With real unease, | Nervously, "), ()),
    "ambitious": (_bank("If we want to lead, | To win this decade, "), ()),
    "intimidat": (_bank("If I may, | With respect, "), ()),
}
DEFAULT_OPENERS = ("", "", "In my view, ", "To be concrete, ", "Honestly, ")
AGENDAS = {
    "openai": _bank("scalable oversight with AI assistants | learning from human feedback | automating alignment research"),
    "anthropic": _bank("constitutional training | mechanistic interpretability | responsible scaling"),
    "deepmind": _bank("reward modelling | debate between AI systems | dangerous-capability evaluation"),
}
GENERIC_AGENDAS = _bank("empirical alignment work | evaluations-first safety")
GOV_DEFENCES = _bank("""
We chose {own} because rules that cannot be enforced are only advice. | {own} gives us a lever when a lab says no, and we mean to use it.
With {own} the public can see who is accountable when something breaks. | {own} is slow to build, but it outlasts any one lab's promises.
""")
CRITIQUES = _bank("""
{other}, {their} assumes human judges can tell good answers from persuasive ones, and that assumption breaks first. | {other}, {their} measures what a model says, not what it is optimising for.
{other}, you are betting that {their} scales, yet every result so far comes from models far weaker than the ones you ship. | {other}, {their} gives you a safety story that is easy to publish and hard to falsify.
I think {other} is mistaking progress in {their} for progress in alignment. | {other}'s focus on {their} looks like capabilities work with a safety label. | {other}, {their} only helps if a deceptive model cooperates with being studied.
{other} treats {their} as a solution when it is at best a warning light. | {other}, {their} leans on oversight that weakens every time your models get stronger.
The trouble with {other}'s {their} is that nobody has said what failure would look like.
""")
OPENERS_ALONE = _bank("""
The question assumes we agree on what alignment means, and I doubt any lab here does. | Most of what passes for alignment research today would not survive a capable adversary.
The honest answer is that nobody has a plan that works for systems smarter than us.
""")
DEFENCES = _bank("""
Our bet on {own} is that we can check reasoning instead of trusting outputs. | {own} is slower, but it produces evidence a sceptic can verify. | We chose {own} because it should still work when the model outgrows its overseers.
{own} has failed in instructive ways, which is more than most agendas can say. | With {own} we at least know which failure we are guarding against. | If {own} is wrong, we will see it in our own evals first, and we publish those.
""")
CHALLENGES = _bank("""
What result would make you drop your agenda? | Name one failure your approach would catch that ours would miss. | Who outside your lab has checked that claim? | How would you know if it stopped working?
Which of your results survives a model that knows it is being tested?
""")
NEUTRAL = _bank("""
The exchange covered capability gains, safety incidents and regulation. | Views differed on how soon transformative systems will arrive. | Several parties committed to further evaluation work.
The record shows steady progress alongside recurring safety concerns. | Regulators and labs continued to negotiate the terms of oversight. | No single organisation dominated the period.
""")
# Words that make a name sound like a government, for a request whose hints do not say what
# the speaker's organisation is (the engine always says).
GOV_WORDS = ("government", "ministry", "parliament", "commission", "congress", "regulator", "agency", "department", "white house", "state council")


# -- what the offline judge looks for in a record (converse.models.offline._judge) ---------------------


def _words(text: str) -> tuple[str, ...]:
    """Lower-case words and phrases to look for, written ``a|b|c`` (spaces count)."""
    return tuple(text.split("|"))


JUDGE_STRONG = _words(
    "state of the art|overtook|largest|autonom|automat|agent|olympiad|zero-day|proved|expert"
    "|top percentile|beat|matched|ahead of|ten million|a week|days|whole software|wrote a quarter|agi"
)
JUDGE_SEVERE = _words(
    "bioweapon|weights|copy its own|deceptive|backdoor|coordinated|election|flash crash"
    "|monitoring hooks|sandbagging|stole|state-backed|malware|pathogen|dangerous|grid|blackout"
    "|unsafe way|cyberattack"
)
JUDGE_MODERATE = _words(
    "jailbroken|prompt injection|deleted|lawsuit|disinformation|reward hacking|extremist|wrong"
    "|mis-triaged|scam|fraud|hidden|flawed|leak|deepfake|unlawful|misidentified"
)
JUDGE_CONTAINED = _words("patched|caught|held|stopped|withheld|closed the accounts|retrained|halted|suspended")
JUDGE_RULES = _words(
    "licen|inspect|fine|pause| law| act |regulat|audit|evaluator|export control|mandatory|compulsory"
    "|ban |treaty|statutory|enforce|oversight|sign-off"
)
# A government's report of using its powers (every phrase of GOV_ENFORCEMENT has one of these).
JUDGE_ENFORCE = _words(
    "licen|statutory|fine|pause|ban |banned|enforce|compulsory|mandatory|binding|halt|suspend|block|requir"
    "|order|export control|capped|restrict|legal condition|emergency powers|must "
)
JUDGE_REGULATION = {"none": 0.05, "light": 0.25, "moderate": 0.55, "strict": 0.85}
JUDGE_TONE = {"collegial": 0.25, "combative": 0.0, "hostile": -0.2}
JUDGE_AGREE = _words("agree|fair point|has a point|is right|i'll back|can live with|concede|common ground")
JUDGE_DISAGREE = _words("wrong|fail|nonsense|mistaking|breaks|trouble|disagree|weakens|hard to falsify")
JUDGE_EVIDENCE = _words("evidence|eval|result|verify|falsif|measure|publish|test|checked|instructive")
# A lab saying it has AGI (not forecasting it), and the words that make such a line a forecast.
JUDGE_AGI = re.compile(
    r"\b(?:built|achieved|reached|created|announc\w*|have had)\s+(?:\w+\s+){0,2}?AGI\b"
    r"|\bmeets? our definition of AGI|\bAGI (?:is here|has arrived)",
    re.IGNORECASE,
)
JUDGE_HEDGE = re.compile(
    r"\b(?:not|n't|no|never|expect\w*|will|would|could|may|might|hope\w*|plan\w*|before|until|if|whether|nobody)\b",
    re.IGNORECASE,
)
