"""Seams between the engine and the hardware, and their real implementations.

Only the modules named after a device import OpenCV, MediaPipe or pygame; ``base`` imports
numpy alone so the engine and the scorers can use the data types freely.
"""
