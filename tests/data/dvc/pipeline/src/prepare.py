import pathlib, yaml
params = yaml.safe_load(open("params.yaml"))["prepare"]
rows = open("data/raw.csv").read().splitlines()
n = max(1, int(len(rows) * (1 - params["split"])))
out = pathlib.Path("data/prepared"); out.mkdir(parents=True, exist_ok=True)
(out / "train.csv").write_text("\n".join(rows[:n]) + "\n")
(out / "test.csv").write_text("\n".join(rows[n:]) + "\n")
