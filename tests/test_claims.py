"""What the prose claims about an output becomes asserted (conformance/claims.py)."""
from conformance.claims import broken_claims, find_claims, sentences

PS = "PID   USER     TIME  COMMAND\n    1 1000      0:00 sleep 1h\n    6 1000      0:00 sh\n"


def test_a_value_the_sentence_and_the_output_share_is_a_claim():
    prose = ["The output shows that the processes are running as user 1000, which is the value of runAsUser."]
    claims = find_claims(prose, PS)
    assert [(c.value, c.sentence) for c in claims] == [("1000", prose[0])]
    assert broken_claims(claims, PS) == []
    assert broken_claims(claims, PS.replace("1000", "root ")) == claims


def test_claims_in_any_language_and_states_and_counts():
    ja = ["出力から、プロセスがユーザー1000として実行されていることがわかります。"]
    assert [c.value for c in find_claims(ja, PS)] == ["1000"]
    pods = "NAME      READY   STATUS      RESTARTS   AGE\nweb-0     3/3     Running     0          9s\n"
    prose = ["The Pod is Running and all 3/3 containers are ready."]
    assert sorted(c.value for c in find_claims(prose, pods)) == ["3/3", "Running"]
    broken = broken_claims(find_claims(prose, pods), pods.replace("3/3", "0/3").replace("Running", "Pending"))
    assert sorted(c.value for c in broken) == ["3/3", "Running"]


def test_what_is_not_a_claim():
    # header words, single digits, addresses and times, and values the output does not show
    prose = ["The PID 1 process has been up for 0:00 at 10.3.240.1 as user 3000."]
    assert find_claims(prose, PS + "10.3.240.1\n") == []
    assert find_claims(["This Pod runs."], "This Pod runs.") == []


def test_a_placeholder_claim_is_checked_through_its_binding():
    claims = find_claims(["The worker now has PID 22."], "PID COMMAND\n 22 nginx: worker\n")
    assert [c.value for c in claims] == ["22"]
    assert broken_claims(claims, "PID COMMAND\n 41 nginx: worker\n", lambda v: {"41"} if v == "22" else set()) == []


def test_sentences_split_in_the_websites_languages():
    assert sentences("One. Two! 三。四？ Five: six") == ["One.", "Two!", "三。", "四？", "Five:", "six"]
