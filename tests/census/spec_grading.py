"""Census cases: grading a class folder in isolation (dltheory.grading)."""

from pathlib import Path

from census.harness import Case

ROOT = Path(__file__).resolve().parents[2]

CASES = {
    "dltheory.grading.grade_many": Case(
        # the valid call would grade a folder (a sandboxed run per notebook); bad calls fail first
        valid=lambda rng: {
            "chapter": "01",
            "target": ROOT / "book",
            "assignments": ROOT / "_build" / "assignments",
            "timeout": 300.0,
            "memory_mb": 6144.0,
            "output_mb": 32.0,
            "user": "nobody",
            "echo": True,
        },
        domain={
            "target": [ROOT / "no_such_folder", 3],
            "timeout": [0.0, -1.0],
            "memory_mb": [0.0],
            "output_mb": [-2.0],
            "user": ["", 3],
            "echo": ["yes"],
            "chapter": ["99"],
        },
    ),
}

NOT_CALLED = {"dltheory.grading.grade_many"}

EXEMPT: dict[str, str] = {}
