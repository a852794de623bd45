"""The demo practice's adoption program: a plan in week 9, training partly done."""

from datetime import date

from program.demo.plan import demo_plan
from program.demo.recognition import demo_recognition
from program.demo.training import demo_training


def load_program_demo(today: date) -> None:
    demo_training(today)
    demo_plan(today)
    demo_recognition(today)
