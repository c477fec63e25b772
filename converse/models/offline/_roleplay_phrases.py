"""Phrase banks of the offline model's role-play answers (``converse.models.offline._roleplay``).

Templates take ``{placeholders}`` filled per answer: ``thing`` (the task's main noun
phrase), ``component`` (a part of it), ``user``/``assistant`` (role names), ``a_user``
(with its article), and numbers, names and places drawn at random.
"""

from __future__ import annotations


def _bank(text: str) -> tuple[str, ...]:
    """Phrases written several to a line, separated by `` | ``."""
    return tuple(p.strip() for line in text.strip().splitlines() for p in line.split(" | ") if p.strip())


def _set(text: str) -> frozenset[str]:
    """Words separated by white space."""
    return frozenset(text.split())


# The stages a chat moves through, in order; "refine" is for users who never stop.
PHASES = ("gather", "design", "build", "build", "build", "test", "document", "deliver")

# Words that end a task's main noun phrase ("a trading bot | for the stock market").
STOP_WORDS = _set(
    "for to that which who with in on by from about using into at of so as while where and or "
    "including through within across"
)
# Verbs a task may start with ("Develop a trading bot"), skipped to reach its noun phrase.
VERBS = _set(
    "develop create write design build plan prepare draft make help organise organize set compose analyse "
    "analyze research improve launch teach learn find conduct produce implement optimise optimize compile host "
    "establish generate translate edit review coordinate record provide assist manage identify train test run "
    "start open grow market promote sell study explore automate "
    "redesign restore renovate curate publish present collect track"
)
ARTICLES = _set("a an the our my your their some his her its this these")
# Words that mark a task (or a role) as technical: its solutions may show code.
TECH_WORDS = (
    "program", "code", "software", "app", "bot", "script", "data", "website", "web ", "algorithm",
    "python", "database", "api", "dashboard", "automat", "developer", "engineer", "machine learning",
    "spreadsheet", "server", "system", "tool", "platform", "model",
)

CITIES = _bank("""
Lisbon | Toronto | Nairobi | Osaka | Denver | Glasgow | Porto Alegre | Melbourne | Lyon | Pune | Tallinn | Cork
Austin | Seville | Bergen | Accra | Auckland | Leipzig | Montreal | Bilbao
""")
NAMES = _bank("""
Maria | Tom | Aisha | Kenji | Laura | Diego | Priya | Sam | Elena | Noah | Fatima | Jonas | Chloe | Ravi | Ines | Omar
""")
MONTHS = _bank("January | February | March | April | May | June | July | August | September | October | November | December")
WEEKDAYS = _bank("Monday | Tuesday | Wednesday | Thursday | Friday")
TOOLS = _bank("""
a shared spreadsheet | a Kanban board | a shared calendar | a plain-text checklist | a simple web form | a project wiki
a weekly email digest | a version-controlled folder
""")
FIELDS = _bank("score | price | priority | amount | rating | duration")

COMPONENTS_TECH = _bank("""
data model | input validation | configuration file | command-line interface | logging setup | core algorithm
database schema | REST endpoint | unit tests | error handling | scheduler | report generator | API client
caching layer | login step | import script
""")
COMPONENTS = _bank("""
budget table | timeline | introduction | weekly schedule | checklist | main argument | contact list
outreach message | progress tracker | risk register | summary page | feedback form | set of examples | glossary
""")
EXTRAS = _bank("""
progress dashboard | backup plan | short FAQ | weekly reminder | feedback loop | cost estimate | priority list
""")

# The task specifier's material: where and for whom, what is delivered, what success means.
SPEC_CONTEXTS = _bank("""
for {a_user} in {city} who has about {hours} hours a week to spare | within a budget of ${money} and a deadline of {day} {month}
in {weeks} weeks, starting with a pilot for {n}0 people in {city} | for a group of {n} people led by {a_user} named {name}
so that {a_user} can present it at a meeting in {city} on {day} {month} | with a budget of ${money} and {n} weekly milestones
""")
SPEC_DELIVERS = _bank("""
The {assistant} will deliver {n} concrete milestones, each checked by the {user} before the next begins.
The {assistant} will prepare a written plan, a worked example and a checklist of {n} items.
Together they will test the result on {n} real cases and write down what changes.
The {assistant} will start with the {component} and finish with a one-page summary.
The {user} will supply the data, and the {assistant} will turn it into {n} clear steps.
""")
SPEC_SUCCESSES = _bank("""
Success means {pct}% fewer mistakes than the current approach. | Success means the {user} can run it alone by {month}.
Success means at least {n}0 people use it in the first month. | Success means saving {hours} hours a week from {month} on.
""")

# The planner's subtasks, one short line per stage.
PLAN_STEPS: dict[str, tuple[str, ...]] = {
    "gather": _bank("Gather the requirements for the {thing}. | Identify the goals and constraints of the {thing}."),
    "design": _bank("Outline the structure of the {thing}. | Choose the tools and a schedule for the {thing}."),
    "build": _bank("Work out the {component} for the {thing}. | Draft a first version of the {thing}."),
    "test": _bank("Check the {thing} against the goals. | Review the results and close the gaps."),
    "document": _bank("Document how to use the {thing}. | Write a short guide to the {thing}."),
    "deliver": _bank("Finish the {thing} and collect feedback. | Wrap up the {thing} and track the first results."),
}

# The AI user's instructions, by stage.
INSTRUCTIONS: dict[str, tuple[str, ...]] = {
    "gather": _bank("""
Identify the {n} most important requirements for the {thing} and rank them by how much they matter to {a_user} like me.
List the goals, constraints and deadlines that the {thing} has to respect, and mark which of them are fixed.
Describe who will use the {thing}, what they need from it on a typical day and which problem it must solve first.
Collect the background facts we need before starting on the {thing}, including the budget, the schedule and any rules.
Research how others have approached projects like the {thing} and summarise the {n} lessons that apply to us.
"""),
    "design": _bank("""
Outline the structure of the {thing} as a numbered list of parts, with one sentence on the purpose of each part.
Design a step-by-step plan for building the {thing}, with a rough time estimate for every step.
Sketch the main parts of the {thing} and explain how they depend on each other.
Choose the tools and resources we will use for the {thing} and justify each choice in one sentence.
Propose a schedule for the {thing} that fits into {weeks} weeks, with a checkpoint at the end of every week.
"""),
    "build": _bank("""
Draft the {component} for the {thing}, keeping it simple enough for {a_user} to follow without help.
Implement the {component} of the {thing} and show me a concrete example of it in use.
Write the {component} for the {thing}, using the requirements we agreed on earlier.
Create the {component} of the {thing}, and point out every assumption you had to make.
Extend the {thing} with the {component}, and explain how it connects to the parts we already have.
Work out the details of the {component} for the {thing}, including the numbers and names it needs.
"""),
    "test": _bank("""
Test the {thing} against the requirements from our first step and list every gap you find.
Check the {component} of the {thing} with {n} realistic examples and report which of them fail.
Review the {thing} as a sceptical {user} would and suggest the {n} changes that would help most.
Measure how well the {thing} meets our goals, using clear numbers wherever possible.
"""),
    "document": _bank("""
Write a short guide that explains how to use the {thing}, aimed at someone who has never seen it before.
Summarise the decisions we made about the {thing} and the reason behind each of them.
Prepare a checklist that {a_user} can follow to keep the {thing} up to date every month.
"""),
    "deliver": _bank("""
Prepare the final version of the {thing} and list the steps needed to put it into use.
Plan the launch of the {thing}, including who needs to be told and what could go wrong on the first day.
Put together a one-page overview of the finished {thing} that I can share with my colleagues.
"""),
    "refine": _bank("""
Improve the {component} of the {thing} so that it copes better with unusual cases.
Add a {extra} to the {thing} and explain how it changes the rest of the work.
Simplify the {component} of the {thing} without losing any of its features.
Go back to the {component} and make it more robust, with one more worked example.
Compare two alternative approaches to the {component} and pick the better one for the {thing}.
"""),
}
SUBTASK_INSTRUCTIONS = _bank("""
Carry out step {i} of our plan: {subtask} Give concrete details for the {thing}.
Now work on step {i} of the plan, "{subtask}", and show me the result with one example.
Complete step {i}: {subtask} Keep it specific to our {thing}.
""")
ADDENDA = _bank("""
Be as specific as you can. | Use real numbers wherever you can. | Keep it practical and easy to follow. | Make it easy for me to check.
""")
INPUTS = _bank("""
The {thing} is for {a_user} who has about {hours} hours a week to spend on it. | Our budget is ${money} and the deadline is {day} {month}.
Focus on the first {weeks} weeks; the rest can wait. | Use {city} as the setting for every example.
Assume {n}0 people will use the {thing} in its first month. | Priorities, in order: reliability, cost, speed.
My notes say: keep it short, practical and easy to change later. | {name} from my team will review it on {weekday}.
""")

# The AI assistant's solutions: an opening that echoes the instruction, items, a closing.
OPENINGS = _bank("""
To {echo}, start from what we already know and fill the gaps in order.
Here is a concrete way to {echo}.
Here are the details needed to {echo}.
Below is how to {echo}, step by step.
This is the result when we {echo}, with the numbers filled in.
""")
ITEMS: dict[str, tuple[str, ...]] = {
    "gather": _bank("""
Must-have: the {thing} works for {n}0 users from the first day. | Budget: ${money}, with {pct}% kept in reserve.
Deadline: {day} {month}, with a review one week earlier. | Audience: mostly people in {city} who use it on their phones.
Constraint: every file stays in {tool} owned by {name}. | Nice-to-have: a short summary sent every {weekday}.
Risk: the schedule slips if feedback takes longer than {n} days.
"""),
    "design": _bank("""
Part 1, inputs: what goes into the {thing} and who provides it. | Part 2, core: the {component}, which does most of the work.
Part 3, outputs: a short report of at most {m} lines. | Week 1 agrees the scope, week 2 builds the {component}, week 3 tests it.
Tool: {tool}, because it is free and easy to share. | Owners: {name} for the core, the {user} for the reviews.
"""),
    "build": _bank("""
The {component}, version 1, is ready for review. | Step 1 gathers the {n} inputs it needs and checks they are complete.
Step 2 applies the rules we agreed on, one at a time. | Step 3 saves the result and records the date in a change log.
Example: for {m} items, the {component} takes about {n} minutes to update. | Assumption: new inputs arrive every {weekday} morning.
"""),
    "test": _bank("""
Case 1: a normal week gives the planned result. | Case 2: missing information produces a clear warning, not a silent gap.
Case 3: a busy period with {m}0 requests still works within {n} days. | Pass rate so far: {pct}% of {m} checks.
Gap found: the {component} misses late changes, with a fix planned for {weekday}.
"""),
    "document": _bank("""
Quick start: three steps, each with a short example. | Glossary: {n} terms a newcomer might not know.
FAQ: answers to the {n} questions we expect most often. | Owner: {name} keeps the guide up to date every {month}.
"""),
    "deliver": _bank("""
Launch date: {day} {month}, announced one week ahead. | Roll-out: {pct}% of users first, everyone else after {n} days.
Fallback: the old process keeps running for two weeks. | Success check: a review of the numbers on day {m}.
"""),
}
# Words in an instruction that tell which stage it belongs to.
PHASE_WORDS: dict[str, tuple[str, ...]] = {
    "gather": ("requirement", "goals", "background", "research", "who will use", "identify"),
    "design": ("outline", "design", "sketch", "structure", "schedule", "choose the tools"),
    "test": ("test", "check the", "review", "measure", "compare"),
    "document": ("guide", "summarise", "document", "checklist"),
    "deliver": ("final version", "launch", "overview", "deliver"),
}
CLOSINGS = _bank("""
This keeps the {thing} within the {weeks}-week schedule and leaves room for changes.
Each item can be checked off on its own, so progress stays visible.
With these in place, the next step builds on a solid base.
The numbers are estimates, to be adjusted once real data comes in.
The {user} can review each point in under {n} minutes.
""")
EXPLANATIONS = _bank("""
This matters because small errors here grow later. | It saves about {n} hours a week once it runs.
It is the part the {user} will notice first. | Without it, the {component} has nothing reliable to work on.
It keeps the cost below ${money}. | It was the main complaint in the {n} similar projects we looked at.
It makes the weekly review on {weekday} much shorter. | It lets {name} take over without a long handover.
It reduces the risk of a late surprise by roughly {pct}%. | It is cheap to change if the plan moves.
""")
CODE_SNIPPETS = (
    'def load_{slug}(path):\n    with open(path, encoding="utf-8") as f:\n        return [line.strip() for line in f if line.strip()]',
    'def rank_{slug}(rows, threshold=0.{n}):\n    return sorted((r for r in rows if r["{field}"] >= threshold), key=lambda r: -r["{field}"])',
    'SETTINGS = {{"name": "{slug}", "retries": {n}, "timeout_seconds": {m}}}',
    "def test_{slug}_ignores_empty_input():\n    assert process_{slug}([]) == []",
    'def summarise_{slug}(rows):\n    total = sum(r["{field}"] for r in rows)\n    return {{"count": len(rows), "total": total}}',
)

# The AI assistant taking over: an instruction of its own after its solution.
FLIPS = _bank("""
Instruction: Now please review the {thing} so far and tell me which part to expand.
Instruction: Please send me the details of your {component} so that I can check them.
Instruction: Decide which of the options above you prefer for the {thing}.
Instruction: Test this version of the {component} and report any problems back to me.
Instruction: Next, write the introduction to the {thing} yourself and share it with me.
""")
FLIP_INPUTS = _bank("Input: None | Input: None | Input: Your current notes on the {thing} | Input: The list above")

# The AI user no longer instructing: musings (no thanks), or only thanks and goodbyes.
STALLS = _bank("""
I think we have covered the main points. Let me review what you have written so far.
Let me pause here and go through the {thing} on my own for a moment.
That looks like enough material for now. I will read it carefully before deciding what comes next.
I need some time to think about the {thing} before giving you more to do.
Everything so far seems to be in order. I am checking it against my notes.
Let me compare your answers with what my colleagues asked for.
I am still reading through the details of the {component}.
Hold on, I want to make sure the earlier parts are right before we move on.
Let me gather my thoughts about the {thing}.
I am not sure what the next step should be yet. Let me look at the whole picture.
I will go over the plan once more with my team.
Give me a moment to check the numbers you gave me.
""")
THANKS = _bank("""
Thank you so much for your help! Goodbye. | Thanks a lot, this is exactly what I needed. Goodbye!
Thank you again for all your work on the {thing}. Bye for now! | I really appreciate your help. Thank you, and goodbye!
Thanks! Have a great day. Goodbye. | Thank you, that was very helpful. Bye!
Many thanks for your patience. Goodbye and take care! | Thanks once more. It was great working with you. Goodbye!
""")
WELCOMES = _bank("""
You're welcome! It was a pleasure working with you. Goodbye! | You are very welcome. Good luck with the {thing}! Goodbye.
Thank you as well! I am glad the {thing} came together. Goodbye! | My pleasure! Come back whenever you need more help. Goodbye.
You're welcome. Take care, and goodbye! | Glad I could help! Thank you for the clear instructions. Bye!
""")
READY = _bank("""
The {thing} is ready for the next step. Please give me your next instruction when you have one.
Take the time you need. I am ready to continue with the {component} or any other part of the {thing}.
I have nothing new to add until I receive an instruction. Tell me which part of the {thing} to work on next.
Understood. Once you have reviewed the material, send me the next instruction and I will carry it out.
""")
ACKNOWLEDGEMENTS = _bank("""
Understood. I am {a_assistant}, and I will help you, {a_user}, complete our task step by step.
Understood. I will give one solution per instruction, always starting with Solution and ending with Next request.
Understood. The task is clear to me, and I will keep every solution concrete and specific.
""")

# The critic: why the chosen option is better.
CRITIC_REASONS = _bank("""
it gives concrete details and numbers where option {other} stays general.
it is more complete than option {other} and moves the task forward in a single step.
it names specific inputs and outputs, which option {other} leaves open.
it follows the agreed format exactly and adds a useful example, while option {other} is thinner.
""")
CRITIC_TAILS = _bank("""
Option {other} is reasonable but would need another round to reach the same level.
Both are usable, but this one leaves less to guess.
Choosing it should save at least one exchange later.
""")

# Dataset tasks: what an assistant of a domain can make, and what it helps a user do.
DOMAIN_WORDS: dict[str, tuple[str, ...]] = {
    "tech": ("programmer", "developer", "software", "data", "cyber", "database", "robotics", "blockchain", "web"),
    "money": ("accountant", "financ", "tax", "econom", "banker", "bookkeeper", "trader", "statistic", "investment"),
    "health": ("doctor", "nurse", "physician", "therap", "dietitian", "nutrition", "trainer", "yoga", "psycholog",
               "pharmacist", "dentist", "paramedic", "chiropractor", "acupunctur", "optometrist"),
    "art": ("writer", "artist", "designer", "musician", "photographer", "actor", "poet", "novelist", "editor",
            "composer", "illustrator", "film", "animator", "sculptor", "screenwriter", "copywriter"),
    "teach": ("teacher", "tutor", "professor", "librarian", "linguist", "historian", "translator", "scientist",
              "philosopher", "mathematician", "biologist", "chemist", "physicist", "zoolog", "botan", "geolog",
              "astronom", "meteorolog", "archaeolog", "anthropolog", "climate", "environment", "genealog"),
}
ARTIFACTS: dict[str, tuple[str, ...]] = {
    "tech": _bank("""
Write a Python script | Build a small web app | Design a dashboard | Develop a browser extension | Build a chatbot
Set up an automation workflow | Design a database | Write a data-cleaning pipeline | Create a mobile app prototype
"""),
    "money": _bank("""
Develop a budgeting spreadsheet | Prepare a cash-flow forecast | Draft a tax checklist | Build an investment plan
Create a savings plan | Design an expense report template | Prepare a loan comparison table
"""),
    "health": _bank("""
Create a weekly meal plan | Design a workout routine | Set up a sleep diary | Draft a stress-management plan
Prepare a medication schedule | Design a stretching programme | Create a habit tracker
"""),
    "art": _bank("""
Write a short story | Design a portfolio website | Sketch a logo concept | Compose a jingle | Plan a photo series
Write a video script | Design a poster | Draft a podcast episode outline
"""),
    "teach": _bank("""
Prepare a lesson plan | Write a study guide | Create a quiz | Compile a reading list | Make a flashcard set
Write a research summary | Design a workshop
"""),
    "general": _bank("""
Draft a marketing plan | Create a project timeline | Write a checklist | Prepare a presentation | Write a newsletter
Plan an event | Design a survey | Create an onboarding guide | Draft a weekly schedule
"""),
}
GOALS: dict[str, tuple[str, ...]] = {
    "tech": _bank("""
track monthly expenses | organise client records | monitor website traffic | schedule social media posts
analyse customer feedback | back up important files | compare product prices | spot unusual transactions
"""),
    "money": _bank("""
plan for retirement | reduce monthly spending | prepare an annual tax return | compare loan offers
save for a first home | price their services | understand their cash flow
"""),
    "health": _bank("""
build healthy habits | recover from a knee injury | prepare for a half marathon | sleep better during busy weeks
cut down on sugar | manage stress before deadlines | stay active while travelling
"""),
    "art": _bank("""
promote a new product | attract new clients | tell a personal story | build an online audience
launch a crowdfunding campaign | stand out at a trade fair | celebrate a company anniversary
"""),
    "teach": _bank("""
prepare for a final exam | learn a new language | understand a difficult topic | teach a weekend class
write a research proposal | explain a complex idea to beginners | keep up with new findings
"""),
    "general": _bank("""
grow an online audience | launch a small business | organise a community event | find new customers
run meetings more efficiently | manage a busy week | welcome new team members | plan a family holiday
"""),
}
TASK_FORMS = (
    "{artifact} that helps {a_user} {goal}",
    "{artifact} so that {a_user} can {goal}",
    "{artifact} for {a_user} who wants to {goal}",
)
