"""Gate rules, workflow templates and the decision chain, as pure functions."""
import pytest
import yaml

from services.approval import chain
from services.approval.gates import Decider, GateError, check_decision, gate_state, parse_gate
from services.approval.templates import load_templates, parse_template

CD, AD, CLIENT = "cd@studio.test", "ad@studio.test", "client@brand.test"


def decided(slot, decision="approve", seq=1, n=0, reason=""):
    return {"slot": slot, "email": slot, "decision": decision, "seq": seq, "chain_n": n, "reason": reason}


def decide(gate, decisions, email, decision="approve", version="v1", round_version="v1", roles=(), reason="r"):
    state = gate_state(gate, round_version is not None, decisions)
    return check_decision(gate, state, decisions, Decider(email, frozenset(roles)), decision, reason,
                          version, round_version)


# ---- templates --------------------------------------------------------------

def test_built_in_templates_have_the_stages_the_issue_lists():
    templates = load_templates()
    assert [s.title for s in templates["standard"].stages] == [
        "Brief & concept", "Rough cut (internal)", "Client rough cut", "Colour & grade", "Audio & music",
        "VFX & graphics", "Legal & compliance", "Online & delivery", "Client final"]
    assert len(templates["commercial"].stages) == 5
    assert len(templates["episodic"].stages) == 12


def test_an_admin_template_is_added_from_its_directory(tmp_path):
    (tmp_path / "promo.yaml").write_text(yaml.safe_dump({"name": "promo", "stages": [
        {"name": "cut", "gate": {"approvers": [CD, "role:owner"], "rule": "any"}}]}))
    templates = load_templates([tmp_path])
    assert templates["promo"].stage("cut").gate.paths[0].approvers == (CD, "role:owner")


@pytest.mark.parametrize("raw, words", [
    ({"stages": [{"name": "a"}]}, "name"),
    ({"name": "x", "stages": []}, "stages"),
    ({"name": "x", "stages": [{"name": "a"}, {"name": "a"}]}, "same name"),
    ({"name": "x", "stages": [{"name": "A b"}]}, "stage 1"),
    ({"name": "x", "stages": [{"name": "a", "gate": {"approvers": ["nobody"]}}]}, "e-mail"),
])
def test_a_bad_template_is_refused_naming_the_problem(raw, words):
    with pytest.raises(GateError) as err:
        parse_template(raw)
    assert words in err.value.message


# ---- gate definitions -------------------------------------------------------

@pytest.mark.parametrize("raw, code", [
    ({"approvers": [CD], "rule": "2"}, "invalid_rule"),
    ({"approvers": [CD], "rule": "most"}, "invalid_rule"),
    ({"approvers": [CD, CD]}, "invalid_gate"),
    ({"approvers": ["role:janitor"]}, "invalid_approver"),
    ({"paths": "legal"}, "invalid_gate"),
    ({"paths": [{"name": "x", "approvers": [CD]}, {"name": "x", "approvers": [AD]}]}, "invalid_gate"),
])
def test_bad_gate_definitions_are_refused(raw, code):
    with pytest.raises(GateError) as err:
        parse_gate(raw)
    assert err.value.code == code


def test_rules_all_any_and_n_of_m():
    everyone = [decided(CD), decided(AD)]
    assert gate_state(parse_gate({"approvers": [CD, AD, CLIENT]}), True, everyone).status == "open"
    assert gate_state(parse_gate({"approvers": [CD, AD, CLIENT], "rule": "2"}), True, everyone).status == "met"
    assert gate_state(parse_gate({"approvers": [CD, AD, CLIENT], "rule": "any"}), True, everyone[:1]).status == "met"
    state = gate_state(parse_gate({"approvers": [CD, AD, CLIENT]}), True, everyone)
    assert state.pending == (CLIENT,)


def test_parallel_paths_all_must_close():
    gate = parse_gate({"paths": [{"name": "creative", "approvers": [CD]},
                                 {"name": "legal", "approvers": ["legal@studio.test", "brand@brand.test"], "rule": "all"}]})
    state = gate_state(gate, True, [decided(CD), decided("legal@studio.test")])
    assert state.status == "open" and state.pending == ("brand@brand.test",)
    assert gate_state(gate, True, [decided(CD), decided("legal@studio.test"), decided("brand@brand.test")]).status == "met"


def test_sequential_chain_refuses_a_later_approver_out_of_turn():
    gate = parse_gate({"approvers": [CD, AD, CLIENT], "sequential": True})
    with pytest.raises(GateError) as err:
        decide(gate, [], CLIENT)
    assert err.value.code == "out_of_turn" and CD in err.value.message
    assert decide(gate, [decided(CD)], AD).slot == AD
    assert gate_state(gate, True, [decided(CD)]).paths[0].turn == AD


def test_refusals_name_the_problem():
    gate = parse_gate({"approvers": [CD, AD]})
    cases = [
        (dict(email="stranger@else.test"), "not_an_approver"),
        (dict(email=CD, version="v0"), "wrong_version"),
        (dict(email=CD, round_version=None), "no_version_submitted"),
        (dict(email=CD, decision="maybe"), "invalid_decision"),
        (dict(email=CD, decision="changes", reason=" "), "reason_required"),
    ]
    for kwargs, code in cases:
        with pytest.raises(GateError) as err:
            decide(gate, [], **kwargs)
        assert err.value.code == code, kwargs
    closed = gate_state(gate, True, [decided(CD), decided(AD)], closed=True)
    with pytest.raises(GateError) as err:
        check_decision(gate, closed, [], Decider(CD), "approve", "", "v1", "v1")
    assert err.value.code == "gate_closed"


def test_changes_requested_ends_the_round_until_a_new_version():
    gate = parse_gate({"approvers": [CD, AD]})
    decisions = [decided(CD), decided(AD, "changes", reason="logo too small")]
    state = gate_state(gate, True, decisions)
    assert state.status == "changes_requested" and state.changes_by == AD
    with pytest.raises(GateError) as err:
        decide(gate, decisions, CD, "changes", reason="also this")
    assert err.value.code == "round_ended"
    # a new round (new version) starts with no decisions counting
    assert gate_state(gate, True, []).pending == (CD, AD)


def test_latest_decision_counts_and_repeats_are_idempotent():
    gate = parse_gate({"approvers": [CD, AD]})
    repeat = decide(gate, [decided(CD)], CD)
    assert repeat.repeat is not None and repeat.seq == 1
    changed_mind = decide(gate, [decided(CD)], CD, "changes", reason="on reflection, no")
    assert changed_mind.repeat is None and changed_mind.seq == 2
    latest = [decided(CD), decided(CD, "changes", seq=2, reason="no")]
    assert gate_state(gate, True, latest).status == "changes_requested"


def test_a_role_approver_is_filled_by_anyone_with_that_role():
    gate = parse_gate({"approvers": ["role:owner", CLIENT]})
    assert decide(gate, [], "boss@studio.test", roles={"owner"}).slot == "role:owner"
    with pytest.raises(GateError):
        decide(gate, [], "editor@studio.test", roles={"editor"})


# ---- chain ------------------------------------------------------------------

def _chain(n):
    records, prev = [], chain.GENESIS
    for i in range(1, n + 1):
        r = {"project_id": "p", "chain_n": i, "prev_hash": prev, "email": f"a{i}@x.test", "decision": "approve"}
        r["hash"] = chain.record_hash(r)
        records.append(r)
        prev = r["hash"]
    return records


def test_an_intact_chain_verifies():
    assert chain.chain_problems(_chain(4)) == []


def test_an_edited_or_deleted_decision_breaks_the_chain():
    edited = _chain(3)
    edited[1]["decision"] = "changes"
    assert chain.chain_problems(edited) == ["decision 2 (a2@x.test) was edited after it was recorded"]
    deleted = _chain(3)
    del deleted[1]
    assert "missing" in chain.chain_problems(deleted)[0]


def test_a_template_stage_without_approvers_is_a_gate_not_set_yet():
    stage = load_templates()["standard"].stages[0]
    assert parse_gate(stage.gate.to_dict()).is_set is False


def test_an_earlier_approver_in_a_chain_may_still_change_their_mind():
    gate = parse_gate({"approvers": [CD, AD, CLIENT], "sequential": True})
    allowed = decide(gate, [decided(CD)], CD, "changes", reason="on reflection, the opening is too slow")
    assert (allowed.slot, allowed.seq, allowed.repeat) == (CD, 2, None)
