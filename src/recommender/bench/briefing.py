"""Briefing benchmark: how long the advisor's PDF takes to make, for bodies of every kind.

Target (issue 12, on the 2-core machine): at most 5 s to make any body's briefing in a running
service, which is what the download button waits for. What a process does once before its
first briefing (load the register, build the map layers, import WeasyPrint) is timed on its own
row. Each body is made twice: the second comes from the in-process cache. The command line's
whole run (start, model load, one briefing) is timed beside them. The promoted model is used if
there is one (read only); else one is trained into a temporary folder.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from recommender.bench._util import measure, run_command, table
from recommender.core.config import Settings
from recommender.model import artifacts

TARGET_S = 5.0
BODIES = (
    ("E07000064", "district council"),
    ("E10000016", "county council"),
    ("E31000022", "fire and rescue authority"),
    ("E23000036", "police force area"),
    ("E54000057", "NHS integrated care board"),
    ("E47000001", "combined authority"),
)

_TRAIN = """
from recommender.core.config import Settings
from recommender.model.workflow import train_and_save
from recommender.recommend import serving
settings = Settings.from_env()
train_and_save(settings, evaluate=False, promote=serving.check(settings))
result = {}
"""

_BRIEFINGS = """
from pypdf import PdfReader
import io
from recommender.render.briefing import briefing_document
from recommender.recommend.ranking import Recommender
from recommender.render import maps
from recommender.register import records as register
from recommender.render.briefing import briefing_document
from recommender.core.config import Settings
from recommender.recommend.ranking import Recommender
from recommender.render import maps
from recommender.register import records as register
started = time.perf_counter()
rec = Recommender.load(Settings.from_env())
result = {"load_s": time.perf_counter() - started, "bodies": []}
started = time.perf_counter()
register.load_register(rec.settings)  # what a running service has already done
for level in ("national", "detail"):
    maps.web_layer(rec.settings, level)
import weasyprint
result["warm_s"] = time.perf_counter() - started
for code in %r:
    started = time.perf_counter()
    pdf = briefing_document(rec, code)
    first = time.perf_counter() - started
    started = time.perf_counter()
    briefing_document(rec, code)
    again = time.perf_counter() - started
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    result["bodies"].append({"code": code, "first_s": first, "again_s": again,
                             "pages": pages, "kb": len(pdf) / 1024})
"""


def run(settings: Settings) -> None:
    """Make the briefing of a body of each kind and print the times."""
    work = Path(tempfile.mkdtemp(prefix="recommender-bench-briefing-"))
    env = {"RECOMMENDER_DATABASE_URL": f"sqlite:///{work / 'register.sqlite'}"}
    if artifacts.promoted_version(settings) is None:
        env["RECOMMENDER_MODELS_DIR"] = str(work / "models")
        measure(_TRAIN, env)
    try:
        made = measure(_BRIEFINGS % ([code for code, _ in BODIES],), env)
        kinds = dict(BODIES)
        rows = []
        for b in made["bodies"]:
            rows.append(
                [
                    f"{b['code']} {kinds[b['code']]}",
                    b["first_s"],
                    b["again_s"],
                    b["pages"],
                    b["kb"],
                    f"<= {TARGET_S:g} s",
                    "yes" if b["first_s"] <= TARGET_S else "NO",
                ]
            )
        cli = str(Path(sys.executable).parent / "recommender")
        out = work / "briefing.pdf"
        whole = run_command([cli, "briefing", BODIES[0][0], "--out", str(out)], env)
        rows.append([f"recommender briefing {BODIES[0][0]} (whole command)", whole, "", "", "",
                     "", ""])  # fmt: skip
        rows.append(["once per process: register, map layers, WeasyPrint", made["warm_s"], "",
                     "", "", "", ""])  # fmt: skip
        table(
            f"Briefing: making the PDF (model loaded in {made['load_s']:.1f} s, not counted)",
            ["body", "PDF s", "again s", "pages", "KB", "target", "met"],
            rows,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
