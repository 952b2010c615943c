import json, pathlib, yaml
from dvclive import Live
params = yaml.safe_load(open("params.yaml"))["train"]
lr, epochs = params["lr"], params["epochs"]
with Live("dvclive") as live:
    live.log_params(params)
    acc = 0.5
    for epoch in range(epochs):
        loss = 1.0 / (1 + epoch * lr * 10)
        acc = min(0.99, 0.5 + epoch * lr * 5)
        live.log_metric("train/loss", loss, timestamp=True)
        live.log_metric("acc", acc)
        live.next_step()
    live.log_metric("best_acc", acc, plot=False)
    pathlib.Path("models").mkdir(exist_ok=True)
    pathlib.Path("models/model.json").write_text(json.dumps({"lr": lr, "epochs": epochs}))
    live.log_artifact("models/model.json", type="model", name="demo-model",
                      desc="demo classifier", labels=["cv", "demo"], meta={"framework": "none"})
