import json, pathlib
model = json.load(open("models/model.json"))
acc = round(0.6 + model["lr"] * model["epochs"], 4)
pathlib.Path("eval").mkdir(exist_ok=True)
pathlib.Path("eval/metrics.json").write_text(json.dumps({"test": {"acc": acc, "loss": round(1 - acc, 4)}}))
