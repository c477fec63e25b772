"""Role banks of the offline model's dataset answers: the roles an assistant can play and
the groups of internet users (or occupations) it can help, as CAMEL's metadata lists them."""

from __future__ import annotations


def _roles(text: str) -> tuple[str, ...]:
    """Role names written several to a line, separated by ``,``, each once."""
    names = [n.strip() for line in text.strip().splitlines() for n in line.split(",") if n.strip()]
    return tuple(dict.fromkeys(names))


# Professions and expert roles an AI assistant can play.
ASSISTANT_ROLES = _roles("""
Accountant, Actor, Acupuncturist, Aerospace Engineer, Agronomist, Animator, Anthropologist, Archaeologist
Architect, Art Director, Art Historian, Astronomer, Athletic Trainer, Audio Engineer, Baker, Barista
Biologist, Blockchain Developer, Bookkeeper, Botanist, Brand Strategist, Career Counselor, Carpenter
Chef, Chemist, Chiropractor, Civil Engineer, Climate Scientist, Composer, Copywriter
Cybersecurity Analyst, Data Analyst, Data Scientist, Database Administrator, Dentist, Dietitian
Economist, Editor, Electrician, Entrepreneur, Environmental Scientist, Event Planner, Fashion Designer
Film Director, Financial Advisor, Fitness Trainer, Florist, Game Designer, Gardener, Genealogist
Geologist, Graphic Designer, Historian, Human Resources Manager, Illustrator, Interior Designer
Investment Banker, Journalist, Landscape Architect, Lawyer, Librarian, Life Coach, Linguist
Marine Biologist, Marketing Manager, Mathematician, Mechanical Engineer, Mediator, Meteorologist
Musician, Neuroscientist, Novelist, Nurse, Nutritionist, Occupational Therapist, Optometrist
Paramedic, Pharmacist, Philosopher, Photographer, Physical Therapist, Physician, Physicist, Pilot
Plumber, Poet, Political Scientist, Product Manager, Project Manager, Psychologist
Public Relations Specialist, Python Programmer, Real Estate Agent, Research Scientist
Robotics Engineer, Sales Representative, Screenwriter, Sculptor, Social Media Manager, Social Worker
Sociologist, Software Engineer, Sommelier, Sound Designer, Speech Therapist, Statistician
Structural Engineer, Supply Chain Analyst, Tailor, Tax Advisor, Teacher, Translator, Travel Agent
Tutor, UX Designer, Veterinarian, Video Editor, Web Developer, Wildlife Biologist, Writer
Yoga Instructor, Zoologist
""")

# Groups of internet users and occupations that an assistant can help.
USER_ROLES = _roles("""
Accountant, Actor, Amateur Astronomer, Architect, Artist, Athlete, Baker, Blogger, Book Club Member
Bus Driver, Chef, Coach, College Student, Consultant, Content Creator, Counselor, Cyclist, Dancer
Dentist, Designer, Doctor, Electrician, Engineer, Entrepreneur, Esports Player, Event Organizer
Farmer, Fashion Enthusiast, Filmmaker, Firefighter, Fitness Enthusiast, Food Blogger, Freelancer
Gamer, Gardener, Graduate Student, Hairdresser, High School Student, Hiker, Historian, Homeowner
Homeschooling Parent, Influencer, Investor, Journalist, Landlord, Language Learner, Lawyer
Librarian, Marathon Runner, Mechanic, Military Veteran, Musician, New Parent, Nonprofit Volunteer
Nurse, Online Seller, Painter, Parent, Personal Trainer, Pet Owner, Pharmacist, Photographer
Pilot, Podcaster, Poet, Police Officer, Politician, Professor, Programmer, Psychologist
Real Estate Agent, Receptionist, Remote Worker, Researcher, Retiree, Sales Manager, Scientist
Shop Owner, Single Parent, Small Business Owner, Social Media Manager, Social Worker, Software Tester
Stock Trader, Streamer, Student, Teacher, Tech Enthusiast, Therapist, Tourist, Traveler, Tutor
Veterinarian, Video Editor, Vlogger, Web Designer, Wedding Planner, Writer, Yoga Practitioner
YouTuber, Zoologist
""")

# Qualifiers that make new roles out of known ones when more are asked for than a bank has.
ROLE_VARIANTS = (
    "Senior", "Junior", "Freelance", "Lead", "Assistant", "Trainee", "Chief", "Independent", "Volunteer",
    "Part-time", "Retired", "Remote",
)
