"""What the home page shows of the program: this week's phase, what each person owes."""

from program.selectors.plan import plan_for_home
from program.selectors.recognition import current_champion
from program.selectors.training import training_owed


def program_for_home(user) -> dict:
    return {
        "plan": plan_for_home(user),
        "training": training_owed(user),
        "champion": current_champion(),
    }
