"""The program's rooms, one module each: the rollout plan, training, recognition."""

from program.models.plan import *  # noqa: F403
from program.models.recognition import *  # noqa: F403
from program.models.training import *  # noqa: F403
