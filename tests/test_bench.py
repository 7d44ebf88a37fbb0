"""The benchmark is a command, not a test: this only checks that it runs and reports what it must."""
import json
import subprocess
import sys


def test_bench_runs_on_a_tiny_size_and_reports_the_ratio(tmp_path):
    out = tmp_path / "bench.json"
    subprocess.run([sys.executable, "-m", "labutils.bench", "--models", "ae,gan", "--limit", "256",
                    "--json", str(out)], check=True, capture_output=True, text=True, timeout=600)
    results = json.loads(out.read_text())
    assert results["images_per_epoch_limit"] == 256
    for model in ("ae", "gan"):
        row = results["models"][model]
        assert row["lab_images_per_s"] > 0 and row["reference_images_per_s"] > 0
        assert row["speedup"] == row["lab_images_per_s"] / row["reference_images_per_s"]
        assert row["lab_peak_rss_mb"] > 0
