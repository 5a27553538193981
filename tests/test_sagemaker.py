"SageMaker, with no AWS and no network: launches against moto, limits and budget before any call, the container emulated."
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest

boto3 = pytest.importorskip("boto3")
pytest.importorskip("sagemaker.train", reason="the aws extra (make install) provides the SageMaker SDK")
from moto import mock_aws  # noqa: E402

from r1_budget import cli  # noqa: E402
from r1_budget.sagemaker import (LaunchError, SageMakerEnv, estimate_cost, launch_training_job, model_artifacts,  # noqa: E402
                                 stage_source)

ROOT = Path(__file__).resolve().parents[1]
ROLE = "arn:aws:iam::123456789012:role/r1-budget-test"
BUCKET = "r1-budget-test-bucket"


NAME = r"r1-budget-{stage}-qwen2-5-0-5b-instruct-{stage}-[a-z0-9]{{5}}-\d{{14}}"   # base, random token, SDK's time


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    "Every launch in these tests happens in the same second: the SDK's timestamp never tells two launches apart."
    import datetime as dt
    import sagemaker.train.utils as sdk_utils

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None): return cls(2026, 12, 1, 17, 47, 55, tzinfo=tz)
    monkeypatch.setattr(sdk_utils, "datetime", Frozen)
    return Frozen


@pytest.fixture
def aws(monkeypatch, tmp_path):
    "Moto in process, placeholder credentials, SDK telemetry and role validation off; records every API call."
    cfg = tmp_path / "sagemaker-config.yaml"
    cfg.write_text("SchemaVersion: '1.0'\nSageMaker:\n  PythonSDK:\n    Modules:\n      TelemetryOptOut: true\n")
    for k, v in dict(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_SESSION_TOKEN="testing",
                     AWS_DEFAULT_REGION="us-east-1", SAGEMAKER_VALIDATE_ROLE="false",
                     SAGEMAKER_USER_CONFIG_OVERRIDE=str(cfg), SAGEMAKER_ADMIN_CONFIG_OVERRIDE=str(cfg)).items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws():
        from sagemaker.core.helper.session_helper import Session
        boto_session = boto3.Session(region_name="us-east-1")
        calls, creates = [], []
        boto_session.events.register("before-call.*.*", lambda model, params, **kw: calls.append(model.name))
        boto_session.events.register("before-parameter-build.sagemaker.CreateTrainingJob",
                                     lambda params, **kw: creates.append(dict(params)))
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        session = Session(boto_session=boto_session, default_bucket=BUCKET)
        calls.clear()
        yield SimpleNamespace(session=session, calls=calls, creates=creates, sm=boto_session.client("sagemaker"),
                              s3=boto_session.client("s3"))


def _launch(aws, stage="sft", **kw):
    args = dict(role=ROLE, instance_type="ml.g5.2xlarge", max_runtime_hours=2, budget_usd=10,
                output_s3=f"s3://{BUCKET}/out", checkpoint_s3=f"s3://{BUCKET}/ckpt/{stage}", session=aws.session)
    if stage == "grpo": args["inputs"] = {"sft_model": f"s3://{BUCKET}/out/sft-job/output/model.tar.gz"}
    return launch_training_job(stage, f"qwen2.5-0.5b-instruct/{stage}", **{**args, **kw})


def test_sft_job_is_created_as_asked(aws):
    name = _launch(aws, "sft")
    assert re.fullmatch(NAME.format(stage="sft"), name) and len(name) <= 63 and name.endswith("-20261201174755")
    job = aws.sm.describe_training_job(TrainingJobName=name)
    assert job["ResourceConfig"]["InstanceType"] == "ml.g5.2xlarge" and job["ResourceConfig"]["InstanceCount"] == 1
    assert job["EnableManagedSpotTraining"] is True
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200, "MaxWaitTimeInSeconds": 14400}
    assert job["CheckpointConfig"] == {"S3Uri": f"s3://{BUCKET}/ckpt/sft", "LocalPath": "/opt/ml/checkpoints"}
    assert job["OutputDataConfig"]["S3OutputPath"] == f"s3://{BUCKET}/out"
    assert job["HyperParameters"] == {"stage": "sft", "recipe": "qwen2.5-0.5b-instruct/sft"}
    assert job["RoleArn"] == ROLE
    assert {c["ChannelName"] for c in job["InputDataConfig"]} == {"code", "sm_drivers"}
    assert "pytorch-training:2.8.0-gpu-py312" in job["AlgorithmSpecification"]["TrainingImage"]


def test_source_upload_lands_in_the_bucket_with_requirements_and_entry_script(aws):
    name = _launch(aws, "sft")
    keys = [o["Key"] for o in aws.s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    code = [k for k in keys if f"{name}/input/code/" in k]
    assert any(k.endswith("code/sm_entry.py") for k in code) and any(k.endswith("code/requirements.txt") for k in code)
    assert any(k.endswith("code/r1_budget/sagemaker.py") for k in code)
    assert any(k.endswith("code/r1_budget/recipes/qwen2.5-0.5b-instruct/sft.yaml") for k in code)
    req_key = next(k for k in code if k.endswith("requirements.txt"))
    reqs = aws.s3.get_object(Bucket=BUCKET, Key=req_key)["Body"].read().decode()
    assert "trl<1.17,>=1.16" in reqs.replace(" ", "") or "trl>=1.16,<1.17" in reqs.replace(" ", "")
    drivers = [k for k in keys if f"{name}/input/sm_drivers/" in k]
    script = aws.s3.get_object(Bucket=BUCKET, Key=next(k for k in drivers if k.endswith("sm_train.sh")))["Body"].read().decode()
    assert "requirements.txt" in script, "the SDK installs the requirements before running the entry script"


def test_grpo_job_takes_the_sft_model_channel_and_uses_torchrun_on_a_multi_gpu_instance(aws):
    name = _launch(aws, "grpo", instance_type="ml.g5.12xlarge", max_runtime_hours=1, environment={"WANDB_MODE": "offline"})
    job = aws.sm.describe_training_job(TrainingJobName=name)
    sft = next(c for c in job["InputDataConfig"] if c["ChannelName"] == "sft_model")
    assert sft["DataSource"]["S3DataSource"]["S3Uri"] == f"s3://{BUCKET}/out/sft-job/output/model.tar.gz"
    assert aws.creates[-1]["Environment"] == {"WANDB_MODE": "offline"}     # moto does not store it: the request does
    assert "torchrun_driver.py" in _train_script(aws, name)


def _train_script(aws, name):
    "The sm_train.sh the SDK uploaded for job `name`: what the container runs."
    keys = [o["Key"] for o in aws.s3.list_objects_v2(Bucket=BUCKET)["Contents"] if f"{name}/input/sm_drivers/" in o["Key"]]
    return aws.s3.get_object(Bucket=BUCKET, Key=next(k for k in keys if k.endswith("sm_train.sh")))["Body"].read().decode()


def test_single_gpu_on_demand_job(aws):
    name = _launch(aws, "sft", spot=False)
    job = aws.sm.describe_training_job(TrainingJobName=name)
    assert job["EnableManagedSpotTraining"] is False and job["StoppingCondition"] == {"MaxRuntimeInSeconds": 7200}
    script = _train_script(aws, name)
    assert "basic_script_driver.py" in script and "torchrun" not in script


def test_dry_run_returns_the_request_and_creates_no_job(aws):
    req = _launch(aws, "grpo", dry_run=True)
    assert req["HyperParameters"] == {"stage": "grpo", "recipe": "qwen2.5-0.5b-instruct/grpo"}
    assert req["ResourceConfig"]["InstanceType"] == "ml.g5.2xlarge" and req["EnableManagedSpotTraining"] is True
    assert "CreateTrainingJob" not in aws.calls
    assert aws.sm.list_training_jobs()["TrainingJobSummaries"] == []


def test_chain_sft_then_grpo_on_its_model_artifacts(aws):
    sft = _launch(aws, "sft")
    uri = model_artifacts(sft, aws.session)
    assert uri == f"s3://{BUCKET}/out/{sft}/output/model.tar.gz"
    grpo = _launch(aws, "grpo", inputs={"sft_model": uri})
    chan = next(c for c in aws.sm.describe_training_job(TrainingJobName=grpo)["InputDataConfig"] if c["ChannelName"] == "sft_model")
    assert chan["DataSource"]["S3DataSource"]["S3Uri"] == uri


def test_a_local_data_path_is_uploaded_first(aws, tmp_path):
    data = tmp_path / "data"; data.mkdir(); (data / "train.jsonl").write_text('{"prompt": "1+1", "solution": "2"}\n')
    name = _launch(aws, "sft", inputs={"train": str(data)})
    chan = next(c for c in aws.sm.describe_training_job(TrainingJobName=name)["InputDataConfig"] if c["ChannelName"] == "train")
    uri = chan["DataSource"]["S3DataSource"]["S3Uri"]
    assert uri.startswith(f"s3://{BUCKET}/")
    prefix = uri.split(f"s3://{BUCKET}/", 1)[1]
    assert any(o["Key"].endswith("train.jsonl") for o in aws.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"])


@pytest.mark.parametrize("kw,message", [
    (dict(budget_usd=5), "worst case $15.15 (5 x ml.g5.2xlarge for 2 h at $7.575/h) exceeds budget_usd=5"),
    (dict(max_runtime_hours=100), "exceeds budget_usd=10"),
    (dict(role="SageMakerRole"), "is not an IAM role ARN"),
    (dict(hyperparameters={"hub_token": "x"}), "hyperparameter 'hub_token' looks like a secret"),
    (dict(environment={"HF_TOKEN": "hf_" + "x" * 34}), "environment variable 'HF_TOKEN' looks like a secret"),
    (dict(hyperparameters={"note": "AKIA" + "A" * 16}), "looks like an AWS access key id"),
    (dict(hyperparameters={f"k{i}": i for i in range(100)}), "102 hyperparameters; SageMaker allows at most 100"),
    (dict(hyperparameters={"system_prompt": "x" * 2600}), "has 2600 characters; at most 2500"),
    (dict(job_name="r1-budget-" + "x" * 33), "has 43 characters; at most 42"),
    (dict(inputs={"eval": "s3://b/x"}), "unknown input channel(s) ['eval']"),
    (dict(output_s3="my-bucket/out"), "output_s3 must be an s3:// URI"),
    (dict(instance_type="ml.t3.medium"), "no price for 'ml.t3.medium'"),
])
def test_bad_requests_fail_before_any_api_call(aws, kw, message):
    if "budget_usd" in kw: kw["instance_count"] = 5
    with pytest.raises(LaunchError, match=re.escape(message)):
        _launch(aws, "sft", **kw)
    assert aws.calls == [] and aws.creates == []


def test_grpo_without_the_sft_model_is_refused(aws):
    with pytest.raises(LaunchError, match="GRPO starts from the SFT model"):
        _launch(aws, "grpo", inputs={})
    assert aws.calls == []


def test_two_launches_in_the_same_second_create_two_jobs(aws):
    first, second = _launch(aws, "sft"), _launch(aws, "sft")
    assert first != second and first[-14:] == second[-14:]      # the same second, told apart by the token
    for name in (first, second): assert re.fullmatch(NAME.format(stage="sft"), name)
    assert [c["TrainingJobName"] for c in aws.creates] == [first, second]
    for name in (first, second): assert aws.sm.describe_training_job(TrainingJobName=name)["TrainingJobName"] == name


def test_the_longest_base_name_makes_a_63_character_job_name(aws):
    name = _launch(aws, "sft", job_name="r1-budget-" + "x" * 32)
    assert len(name) == 63 and aws.sm.describe_training_job(TrainingJobName=name)["TrainingJobName"] == name


def test_force_launches_over_budget(aws):
    name = _launch(aws, "sft", budget_usd=1, force=True)
    assert aws.sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"] in ("InProgress", "Completed")


def test_cost_estimates():
    c = estimate_cost("ml.g5.12xlarge", hours=15.5, spot=True)
    assert c["worst_case_usd"] == pytest.approx(109.89, abs=0.011) and c["expected_usd"] == pytest.approx(32.97, abs=0.01)
    assert estimate_cost("ml.g5.12xlarge", 2, 1)["worst_case_usd"] == pytest.approx(14.18)
    with pytest.raises(ValueError, match="count must be at least 1"):
        estimate_cost("ml.g5.xlarge", 0)


def test_cli_launch_dry_run_prints_cost_then_request(aws, capsys, monkeypatch):
    import r1_budget.sagemaker as sm
    real = sm.launch_training_job
    monkeypatch.setattr(sm, "launch_training_job", lambda *a, **kw: real(*a, **{**kw, "session": aws.session}))
    status = cli.main(["launch", "sft", "--recipe", "tiny/sft", "--role", ROLE, "--instance", "ml.g5.xlarge", "--max-hours", "1",
                       "--budget", "5", "--output-s3", f"s3://{BUCKET}/o", "--hp", "max_steps=50", "--dry-run"])
    out, err = capsys.readouterr()
    assert status == 0 and out.startswith("cost: expected $0.42, worst case $1.41")
    req = json.loads(out.split("\n", 2)[2])   # after the cost and prices lines
    assert req["HyperParameters"] == {"stage": "sft", "recipe": "tiny/sft", "max_steps": "50"}
    assert re.fullmatch(r"r1-budget-sft-tiny-sft-[a-z0-9]{5}-20261201174755", req["TrainingJobName"])
    assert f"dry run: nothing was sent; the job would be named {req['TrainingJobName']}" in err
    assert "CreateTrainingJob" not in aws.calls


def test_cli_launch_over_budget_exits_1(capsys):
    status = cli.main(["launch", "grpo", "--recipe", "tiny/grpo", "--role", ROLE, "--instance", "ml.p5.48xlarge",
                       "--max-hours", "2", "--input", "sft_model=s3://b/m.tar.gz"])
    assert status == 1 and "exceeds budget_usd=100.0" in capsys.readouterr().err


# ---- inside the container ---------------------------------------------------------------------------------------------

def _opt_ml(tmp_path, channels):
    ml = tmp_path / "opt" / "ml"
    env = {**os.environ, "SM_MODEL_DIR": str(ml / "model"), "SM_OUTPUT_DIR": str(ml / "output"), "HF_HUB_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false", "PYTHONWARNINGS": "ignore"}
    for name, path in channels.items(): env[f"SM_CHANNEL_{name.upper()}"] = str(path)
    (ml / "model").mkdir(parents=True, exist_ok=True)
    return ml, env


RECIPE = """model_name_or_path: tiny:tiny
dtype: float32
system_prompt: false
per_device_train_batch_size: 8
learning_rate: 2.0e-3
max_length: 96
save_strategy: steps
save_steps: 2
logging_steps: 1
report_to: none
gradient_checkpointing: false
disable_tqdm: true
"""


@pytest.fixture(scope="module")
def code_dir(tmp_path_factory):
    "The job's source directory, as the launcher uploads it, plus a recipe of the user's own for local data."
    code = stage_source(tmp_path_factory.mktemp("code"))
    (code / "own-sft.yaml").write_text(RECIPE)
    (code / "own-grpo.yaml").write_text(RECIPE.replace("learning_rate: 2.0e-3", "learning_rate: 1.0e-4").replace("max_length: 96\n", "") +
                                        "num_generations: 4\nmax_completion_length: 24\nrewards: {accuracy: 1.0}\n")
    return code


@pytest.fixture(scope="module")
def train_channel(tmp_path_factory):
    from r1_budget.tasks import make_synthetic_dataset
    d = tmp_path_factory.mktemp("train")
    make_synthetic_dataset("multiply", n=64, difficulty=2, system_prompt=None).to_json(d / "multiply.jsonl")
    return d


def _job(code, env, *args):
    return subprocess.run([sys.executable, "sm_entry.py", *args], cwd=code, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_container_sft_writes_model_checkpoints_and_resumes(tmp_path, code_dir, train_channel):
    ml, env = _opt_ml(tmp_path, {"train": train_channel})
    r = _job(code_dir, env, "--stage", "sft", "--recipe", "own-sft.yaml", "--max_steps", "4")
    assert r.returncode == 0, r.stderr[-3000:]
    assert (ml / "model" / "config.json").exists() and (ml / "model" / "model.safetensors").exists()
    assert (ml / "model" / "run" / "trainer_state.json").exists()
    assert {p.name for p in (ml / "checkpoints").glob("checkpoint-*")} >= {"checkpoint-2", "checkpoint-4"}
    assert not (ml / "output" / "failure").exists()
    # a spot interruption restarts the job with the checkpoints restored: it resumes instead of starting over
    r = _job(code_dir, env, "--stage", "sft", "--recipe", "own-sft.yaml", "--max_steps", "6")
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"resuming from {ml / 'checkpoints' / 'checkpoint-4'}" in r.stdout
    state = json.loads((ml / "model" / "run" / "trainer_state.json").read_text())
    assert state["global_step"] == 6 and [h["step"] for h in state["log_history"] if "loss" in h][:2] == [1, 2]


@pytest.mark.slow
def test_container_grpo_starts_from_the_sft_jobs_model_tarball(tmp_path, code_dir, train_channel):
    sft_ml, env = _opt_ml(tmp_path / "sft", {"train": train_channel})
    assert _job(code_dir, env, "--stage", "sft", "--recipe", "own-sft.yaml", "--max_steps", "2").returncode == 0
    channel = tmp_path / "sft_model"; channel.mkdir()
    with tarfile.open(channel / "model.tar.gz", "w:gz") as tar:          # what SageMaker uploads from SM_MODEL_DIR
        for p in (sft_ml / "model").iterdir(): tar.add(p, arcname=p.name)
    ml, env = _opt_ml(tmp_path / "grpo", {"train": train_channel, "sft_model": channel})
    r = _job(code_dir, env, "--stage", "grpo", "--recipe", "own-grpo.yaml", "--max_steps", "2", "--per_device_train_batch_size", "8")
    assert r.returncode == 0, r.stderr[-3000:]
    assert (ml / "model" / "config.json").exists()
    cfg = json.loads((ml / "model" / "run" / "run_config.json").read_text())
    assert str(channel) in json.dumps(cfg)


@pytest.mark.slow
def test_container_failure_writes_the_reason(tmp_path, code_dir, train_channel):
    bad = tmp_path / "bad"; bad.mkdir()
    (bad / "a.jsonl").write_text("{}\n"); (bad / "b.jsonl").write_text("{}\n")
    ml, env = _opt_ml(tmp_path, {"train": bad})
    r = _job(code_dir, env, "--stage", "sft", "--recipe", "own-sft.yaml", "--max_steps", "2")
    assert r.returncode == 1
    reason = (ml / "output" / "failure").read_text()
    assert reason.startswith("ValueError: channel 'train'") and "exactly one" in reason and len(reason) <= 1024
    assert not (ml / "model" / "config.json").exists()


def test_outside_sagemaker_ordinary_paths_are_kept(monkeypatch):
    monkeypatch.delenv("SM_MODEL_DIR", raising=False)
    assert SageMakerEnv.detect() is None


def test_hub_login_reads_the_token_from_secrets_manager(aws, monkeypatch):
    from r1_budget.sagemaker import hub_login_from_secret
    monkeypatch.delenv("HF_TOKEN", raising=False)
    boto3.client("secretsmanager").create_secret(Name="hf", SecretString=json.dumps({"HF_TOKEN": "hf_" + "t" * 34}))
    hub_login_from_secret("hf")
    assert os.environ["HF_TOKEN"] == "hf_" + "t" * 34
    monkeypatch.delenv("HF_TOKEN")


# ---- the image ---------------------------------------------------------------------------------------------------------

def test_dockerfile_installs_the_package_with_pyprojects_pins_only():
    text = (ROOT / "grpo-sagemaker-image" / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=\S*pytorch-training", text, re.M) and "FROM ${BASE_IMAGE}" in text
    installs = [l for l in text.splitlines() if "pip install" in l]
    assert any('install ".[${EXTRAS}]"' in l for l in installs)   # a regular install: the recipes are package data
    for line in installs:   # nothing installed by name: every pin comes from pyproject.toml
        assert not re.search(r"pip install[^\n]*\b(torch|transformers|trl|peft|datasets|accelerate|vllm)\b", line), line
    for path in ("pyproject.toml", "r1_budget"): assert f"COPY {path}" in text
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^vllm = \["trl\[vllm\]', pyproject, re.M) and re.search(r"^aws = \[", pyproject, re.M)
    assert not re.search(r"\d{12}", text), "no account ids in the image recipe"


def test_the_staged_source_is_removed_after_the_launch(aws, monkeypatch, tmp_path):
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    _launch(aws, "sft")
    _launch(aws, "sft", dry_run=True)
    assert not list(tmp_path.glob("r1-budget-source-*"))


# ---- a dry run sends nothing ------------------------------------------------------------------------------------------

@pytest.fixture
def no_aws(monkeypatch, tmp_path):
    "No credentials, no AWS configuration, and every network connection refused and recorded."
    import socket
    for k in [k for k in os.environ if k.startswith(("AWS_", "SAGEMAKER_"))]: monkeypatch.delenv(k)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    attempts = []
    def refuse(self, address, *a): attempts.append(address); raise OSError(f"no network in this test ({address})")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


def test_dry_run_needs_no_credentials_and_sends_nothing(no_aws, capsys, monkeypatch):
    import r1_budget.sagemaker as sm
    sessions = []
    real = sm.dry_run_session
    monkeypatch.setattr(sm, "dry_run_session", lambda *a: sessions.append(real(*a)) or sessions[-1])
    req = _dry_launch("grpo", inputs={"sft_model": str(ROOT / "r1_budget" / "recipes")})   # a local input would be uploaded too
    offline = sessions[0][1]
    assert no_aws == [] and offline.refused == []
    assert set(offline.calls) <= {"s3.ListBuckets", "s3.PutObject", "iam.SimulatePrincipalPolicy", "iam.GetRole"}
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in req["InputDataConfig"]}
    assert set(channels) == {"sft_model", "code", "sm_drivers"}
    assert any(u.startswith(channels["code"] + "/r1_budget/") for u in offline.uploads)         # where the source goes
    assert any(u.startswith(channels["sft_model"] + "/qwen2.5") for u in offline.uploads)       # and the local input
    assert req["AlgorithmSpecification"]["TrainingImage"].startswith("763104351884.dkr.ecr.eu-central-1.")


def _dry_launch(stage, **kw):
    return launch_training_job(stage, f"qwen2.5-0.5b-instruct/{stage}", role=ROLE, instance_type="ml.g5.2xlarge",
                               max_runtime_hours=2, budget_usd=10, output_s3=f"s3://{BUCKET}/out", region="eu-central-1",
                               dry_run=True, **kw)


def test_dry_run_refuses_what_it_cannot_answer_offline(no_aws, monkeypatch):
    with pytest.raises(LaunchError, match="a dry run needs output_s3"):
        launch_training_job("sft", "tiny/sft", role=ROLE, instance_type="ml.g5.2xlarge", budget_usd=10, region="us-east-1",
                            dry_run=True)
    with pytest.raises(LaunchError, match="no AWS region: set AWS_DEFAULT_REGION"):
        launch_training_job("sft", "tiny/sft", role=ROLE, instance_type="ml.g5.2xlarge", budget_usd=10,
                            output_s3=f"s3://{BUCKET}/o", dry_run=True)
    import r1_budget.sagemaker as sm
    real = sm.OfflineAWS.answer
    def unexpected(self, model, context, **kw):   # an SDK version that asks something new
        if context["r1_budget_call"][0] == "s3.ListBuckets": context["r1_budget_call"] = ("sts.GetCallerIdentity", {})
        return real(self, model, context, **kw)
    monkeypatch.setattr(sm.OfflineAWS, "answer", unexpected)
    with pytest.raises(LaunchError, match=r"the dry run would have called AWS \(sts.GetCallerIdentity"):
        _dry_launch("sft")
    assert no_aws == []


def test_dry_run_request_is_what_a_launch_sends(aws):
    "The offline request and the one a real launch sends (to moto) agree on everything but the job's name."
    dry = _launch(aws, "grpo", dry_run=True)
    name = _launch(aws, "grpo")
    [sent] = aws.creates
    assert sent["TrainingJobName"] == name
    for n in (name, dry["TrainingJobName"]): assert re.fullmatch(NAME.format(stage="grpo"), n)

    def named(request):   # the request with its job name (and the prefix before the SDK's time, in S3 keys) replaced
        text, job = json.dumps(request, sort_keys=True, default=str), request["TrainingJobName"]
        return text.replace(job, "JOB").replace(job[:-15], "PREFIX")
    dry, sent = json.loads(named(dry)), json.loads(named(sent))
    for key in ("AlgorithmSpecification", "HyperParameters", "ResourceConfig", "RoleArn", "StoppingCondition",
                "OutputDataConfig", "CheckpointConfig", "EnableManagedSpotTraining", "InputDataConfig", "TrainingJobName"):
        assert dry.get(key) == sent.get(key), key
    assert set(dry) == set(sent)
