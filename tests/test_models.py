"Models: archive safety, checkpoint discovery, loading errors, LoRA merge equivalence, the tiny model and tokenizer."
import hashlib
import io
import tarfile
from pathlib import Path

import pytest
import torch

from r1_budget import models as M
from r1_budget.data import TAGS
from r1_budget.models import (SPECIAL_TOKENS, build_tiny_model, find_checkpoint, load_model_and_tokenizer,
                              merge_and_save, push_to_hub, safe_extract, save_checkpoint)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", size="tiny", seed=0)


def make_tar(path, members, mode="w:gz"):
    with tarfile.open(path, mode) as tar:
        for m in members:
            info = tarfile.TarInfo(m["name"])
            if "data" in m:
                info.size = len(m["data"])
                tar.addfile(info, io.BytesIO(m["data"]))
            else:
                info.type = m["type"]
                info.linkname = m.get("link", "")
                tar.addfile(info)
    return path

# ---- archives ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("member,problem", [
    ({"name": "../../escape.txt", "data": b"x"}, "path leads outside"),
    ({"name": "/tmp/absolute.txt", "data": b"x"}, "absolute path"),
    ({"name": "innocent/../../escape.txt", "data": b"x"}, "path leads outside"),
    ({"name": "link", "type": tarfile.SYMTYPE, "link": "/etc/passwd"}, "link to '/etc/passwd' points outside"),
    ({"name": "sub/link", "type": tarfile.SYMTYPE, "link": "../../outside"}, "points outside"),
    ({"name": "hard", "type": tarfile.LNKTYPE, "link": "../outside"}, "points outside"),
    ({"name": "dev", "type": tarfile.CHRTYPE}, "device or FIFO"),
    ({"name": "fifo", "type": tarfile.FIFOTYPE}, "device or FIFO"),
])
def test_malicious_archives_are_refused_whole(tmp_path, member, problem):
    archive = make_tar(tmp_path / "model.tar.gz", [{"name": "config.json", "data": b"{}"}, member])
    dest = tmp_path / "out"
    with pytest.raises(ValueError, match=problem) as e:
        safe_extract(archive, dest)
    assert "model.tar.gz" in str(e.value) and member["name"] in str(e.value)
    assert not dest.exists() and not (tmp_path.parent / "escape.txt").exists()


def test_symlink_then_write_through_it_is_refused(tmp_path):
    # the classic two-step: a link to a folder outside, then a file "inside" the link
    archive = make_tar(tmp_path / "m.tar", [{"name": "d", "type": tarfile.SYMTYPE, "link": str(tmp_path)},
                                            {"name": "d/pwned.txt", "data": b"x"}], mode="w")
    with pytest.raises(ValueError, match="unsafe member 'd'"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "pwned.txt").exists()


def test_corrupt_archive(tmp_path):
    bad = tmp_path / "model.tar.gz"
    bad.write_bytes(b"\x1f\x8b\x08garbage")
    with pytest.raises(ValueError, match=r"model.tar.gz: not a readable tar archive"):
        safe_extract(bad, tmp_path / "out")

# ---- finding and loading checkpoints ---------------------------------------------------------------------------------

def test_sagemaker_model_tar_gz_with_the_model_in_a_subfolder(tiny, tmp_path):
    channel = tmp_path / "sft_model"
    channel.mkdir()
    with tarfile.open(channel / "model.tar.gz", "w:gz") as tar:
        tar.add(tiny, arcname="final")
    assert find_checkpoint(channel).resolve() == (channel / "model" / "final").resolve()
    model, tok = load_model_and_tokenizer(channel)                       # the folder SageMaker gives
    model2, _ = load_model_and_tokenizer(channel / "model.tar.gz")       # or the archive itself
    assert torch.equal(model.lm_head.weight, model2.lm_head.weight)


def test_folder_without_weights_is_named(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(ValueError, match=rf"no model checkpoint in {tmp_path} \(found: config.json, notes.txt\)"):
        load_model_and_tokenizer(tmp_path)


def test_missing_path_and_non_archive_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        load_model_and_tokenizer(tmp_path / "nope")
    (tmp_path / "weights.txt").write_text("x")
    with pytest.raises(ValueError, match="is a file but not a tar archive"):
        load_model_and_tokenizer(tmp_path / "weights.txt")


def test_unknown_hub_id_offline_is_a_clear_error():
    with pytest.raises(ValueError, match=r"could not load 'nobody/no-such-model' from the Hugging Face Hub.*offline, pass a local"):
        load_model_and_tokenizer("nobody/no-such-model")


def test_tokenizer_model_vocabulary_mismatch(tiny, tmp_path):
    model, tok = load_model_and_tokenizer(tiny)
    tok.add_tokens([f"<extra_{i}>" for i in range(50)])
    save_checkpoint(model, tok, tmp_path / "mismatch")
    rows = model.get_input_embeddings().num_embeddings
    with pytest.raises(ValueError, match=rf"mismatch: the tokenizer has {rows + 50} tokens but the model's embedding only {rows} rows"):
        load_model_and_tokenizer(tmp_path / "mismatch")


def test_pad_token_added_without_changing_eos(tiny):
    _, tok = load_model_and_tokenizer(tiny)
    tok.pad_token = None
    M.ensure_pad_token(tok)
    assert tok.pad_token == "<|im_end|>" and tok.eos_token == "<|im_end|>"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on a machine without a GPU")
def test_quantization_flags_fail_before_loading_and_say_what_is_missing(tmp_path, monkeypatch):
    from r1_budget.config import load_stage_config
    from r1_budget.train import load_for_stage
    monkeypatch.setattr(M, "load_model_and_tokenizer", lambda *a, **k: pytest.fail("a model was loaded"))
    for flag in ("--load_in_4bit", "--load_in_8bit"):
        cfg = load_stage_config("sft", "tiny/sft", {"output_dir": str(tmp_path / "o"), flag[2:]: True})
        with pytest.raises(ValueError, match=f"{flag} needs a CUDA GPU \\(none is visible\\)"):
            load_for_stage(cfg)
    monkeypatch.setattr("transformers.utils.is_bitsandbytes_available", lambda *a: False)
    with pytest.raises(ValueError, match="needs a CUDA GPU .* and bitsandbytes \\(pip install bitsandbytes\\)"):
        M.check_kbit_support(load_in_4bit=True)


def test_quantization_config_reaches_from_pretrained(monkeypatch, tmp_path):
    # TRL's helper builds the config from the ModelConfig flags; load_model_and_tokenizer passes it to from_pretrained.
    from trl import ModelConfig, get_quantization_config
    q = get_quantization_config(ModelConfig(load_in_4bit=True, dtype="bfloat16"))
    assert q.load_in_4bit and q.bnb_4bit_quant_type == "nf4"
    seen = {}
    import transformers
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained",
                        lambda *a, **k: (seen.update(k), (_ for _ in ()).throw(OSError("stop")))[1])
    with pytest.raises(ValueError, match="stop"):
        M.load_model_and_tokenizer("some/hub-model", quantization_config=q, device_map={"": 0})
    assert seen["quantization_config"] is q and seen["device_map"] == {"": 0}


def test_loads_through_the_auto_classes_like_a_hub_checkpoint(tiny):
    from transformers import AutoModelForCausalLM, AutoTokenizer
    model, tok = AutoModelForCausalLM.from_pretrained(tiny), AutoTokenizer.from_pretrained(tiny)
    assert type(model).__name__ == "Qwen2ForCausalLM" and type(tok).__name__ == "Qwen2Tokenizer"
    assert model.config.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>") == model.generation_config.eos_token_id
    assert model.config.pad_token_id == tok.pad_token_id == tok.convert_tokens_to_ids("<|endoftext|>")
    assert (Path(tiny) / "README.md").read_text().startswith("---\nlibrary_name: transformers")


def test_tags_and_markers_are_single_tokens_and_tags_survive_decoding(tiny):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(tiny)
    for t in SPECIAL_TOKENS + TAGS:
        assert len(tok(t, add_special_tokens=False)["input_ids"]) == 1, t
        assert len(tok(f"x{t}y", add_special_tokens=False)["input_ids"]) == 3, t
    text = "<think>\nStep 1: 40*6=240\n</think>\n<answer>\n282\n</answer>"
    ids = tok(text + "<|im_end|>", add_special_tokens=False)["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == text


def test_system_prompt_words_are_whole_tokens_and_any_text_encodes(tiny):
    from transformers import AutoTokenizer
    from r1_budget.data import SYSTEM_PROMPT
    tok = AutoTokenizer.from_pretrained(tiny)
    n = len(tok(SYSTEM_PROMPT, add_special_tokens=False)["input_ids"])
    assert n < len(SYSTEM_PROMPT.split()) * 1.5          # mostly one token a word, not one a character
    odd = "Zoë's naïve café: ∑ 😀 {\\frac{1}{2}}"
    assert tok.decode(tok(odd, add_special_tokens=False)["input_ids"]) == odd


def test_chat_template_is_qwen25_chatml(tiny):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(tiny)
    msgs = [{"role": "system", "content": "S"}, {"role": "user", "content": "U"}, {"role": "assistant", "content": "A"}]
    assert tok.apply_chat_template(msgs, tokenize=False) == \
        "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\nA<|im_end|>\n"
    assert tok.apply_chat_template(msgs[:2], tokenize=False, add_generation_prompt=True).endswith("<|im_start|>assistant\n")


def digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(Path(folder).iterdir())}


def test_same_seed_same_files_other_seed_other_weights(tmp_path, tiny):
    again = build_tiny_model(tmp_path / "again", size="tiny", seed=0)
    assert digest(again) == digest(tiny)
    other = build_tiny_model(tmp_path / "other", size="tiny", seed=1)
    assert digest(other)["model.safetensors"] != digest(tiny)["model.safetensors"]


@pytest.mark.parametrize("kwargs,message", [(dict(size="huge"), "unknown size 'huge'"), (dict(task="chess"), "unknown task 'chess'")])
def test_build_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_tiny_model(tmp_path / "m", **kwargs)

# ---- LoRA ----------------------------------------------------------------------------------------------------------------

def test_merged_model_gives_the_adapter_models_logits(tiny, tmp_path):
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM
    model, tok = load_model_and_tokenizer(tiny, dtype=torch.float32)
    from peft import LoraConfig
    peft_model = get_peft_model(model, LoraConfig(r=8, lora_alpha=16, target_modules="all-linear", task_type="CAUSAL_LM"))
    torch.manual_seed(1)
    with torch.no_grad():                     # a trained-looking adapter (fresh LoRA B matrices are zero)
        for name, p in peft_model.named_parameters():
            if "lora_B" in name: p.normal_(0, 0.5)
    ids = tok(["<think>47*6=40*6+7*6</think><answer>282</answer>"], return_tensors="pt")["input_ids"]
    peft_model.eval()
    with torch.no_grad():
        expected = peft_model(input_ids=ids).logits
    save_checkpoint(peft_model, tok, tmp_path / "adapter")
    assert (tmp_path / "adapter" / "adapter_config.json").exists()
    out = merge_and_save(tmp_path / "adapter", tmp_path / "merged")       # from the saved adapter folder
    assert not (out / "adapter_config.json").exists()
    merged = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
    with torch.no_grad():
        got = merged(input_ids=ids).logits
    assert not torch.allclose(expected, load_model_and_tokenizer(tiny, dtype=torch.float32)[0](input_ids=ids).logits, atol=1e-3)
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)


def test_merge_refuses_a_model_without_adapters(tiny, tmp_path):
    model, tok = load_model_and_tokenizer(tiny)
    with pytest.raises(ValueError, match="has no LoRA adapters to merge"):
        merge_and_save(model, tmp_path / "m", tok)

# ---- publishing ---------------------------------------------------------------------------------------------------------

def test_push_to_hub_uploads_the_checkpoint_privately(tiny, monkeypatch):
    calls = []

    class FakeApi:
        def __init__(self, token=None): calls.append(("init", token))
        def create_repo(self, repo_id, **kw): calls.append(("create_repo", repo_id, kw))
        def upload_folder(self, **kw): calls.append(("upload_folder", kw))

    import huggingface_hub
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    files = push_to_hub(tiny, "someone/tiny-r1")
    assert {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "README.md"} <= set(files)
    assert calls[1] == ("create_repo", "someone/tiny-r1", {"private": True, "exist_ok": True, "repo_type": "model"})
    assert calls[2][1]["folder_path"] == str(tiny) and calls[2][1]["repo_id"] == "someone/tiny-r1"
    assert push_to_hub(tiny, "someone/tiny-r1", dry_run=True) == files and len(calls) == 3


def test_push_to_hub_checks_before_uploading(tmp_path, tiny):
    with pytest.raises(ValueError, match="is not a saved checkpoint"):
        push_to_hub(tmp_path, "someone/x")
    with pytest.raises(ValueError, match="must look like 'user-or-org/model-name'"):
        push_to_hub(tiny, "no-owner")
