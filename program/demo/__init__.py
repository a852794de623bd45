"""The demo practice's adoption program: a plan in week 9, training partly done,
scripts used at the desk and in the visit, and a portal champion."""

from datetime import date

from enrollment.demo import demo_script_outcomes
from program.demo.plan import demo_plan
from program.demo.recognition import demo_recognition
from program.demo.training import demo_training


def load_program_demo(today: date) -> None:
    demo_training(today)
    demo_plan(today)
    demo_script_outcomes(today)
    demo_recognition(today)
