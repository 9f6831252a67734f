"""Rendering the kustomize overlays (kustomize from .cache/bin, `make deploy-tools`)."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
OVERLAYS = sorted(p.parent.name for p in (K8S / "overlays").glob("*/kustomization.yaml"))
KUSTOMIZE = Path(os.environ.get("FRAMEGATE_CACHE", REPO / ".cache")) / "bin" / "kustomize"


def kustomize_missing() -> str | None:
    if not KUSTOMIZE.exists():
        return f"{KUSTOMIZE} is missing (make deploy-tools builds it)"
    return None


def render(overlay: str) -> list[dict]:
    """The overlay's objects; the dev overlay's git-ignored secrets are generated first."""
    if overlay == "dev":
        subprocess.run([str(K8S / "overlays" / "dev" / "make-secrets.sh")], check=True,
                       capture_output=True)
    out = subprocess.run([str(KUSTOMIZE), "build", str(K8S / "overlays" / overlay)],
                         capture_output=True, text=True)
    assert out.returncode == 0, f"kustomize build {overlay}:\n{out.stderr}"
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def render_text(overlay: str) -> str:
    render(overlay)  # secrets and errors first
    return subprocess.run([str(KUSTOMIZE), "build", str(K8S / "overlays" / overlay)],
                          capture_output=True, text=True, check=True).stdout


def have_promtool() -> str | None:
    return None if shutil.which("promtool") else "promtool is missing (make deploy-tools installs Debian's prometheus)"
