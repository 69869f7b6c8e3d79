"""rehab: action-observation stroke rehabilitation session runner.

Public API is re-exported here lazily so that ``import rehab`` stays cheap (no mediapipe,
pygame or cv2 at import time).
"""

__version__ = "0.1.0"
