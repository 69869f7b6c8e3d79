"""Session engine: walks a validated protocol through the seams (no pygame, cv2 or mediapipe)."""
