"""The 箬叶 surface-defect patch model: trained on project-made renders (no public photo set)."""

LABELS: tuple[str, ...] = ("clean", "spot", "yellow", "hole")
