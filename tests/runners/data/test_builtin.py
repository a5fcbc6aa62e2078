from runners.data import builtin


def test_generators_are_deterministic():
    assert builtin.generate("grammar", 50, 3) == builtin.generate("grammar", 50, 3)
    assert builtin.generate("arithmetic", 50, 3) == builtin.generate("arithmetic", 50, 3)
    assert builtin.generate("arithmetic", 50, 3) != builtin.generate("arithmetic", 50, 4)


def test_arithmetic_rows_are_correct():
    rows = builtin.arithmetic.arithmetic(500, 1)
    assert len(rows) == 500
    for row in rows:
        assert set(row) == {"instruction", "input", "output"}
        assert row["input"] == ""
        answer = int(eval(row["instruction"]))  # "17+5" -> 22; only digits and + -
        assert answer >= 0
        assert row["output"] == str(answer)


def test_grammar_covers_the_arithmetic_alphabet():
    text = " ".join(r["text"] for r in builtin.grammar.grammar(500, 1))
    for ch in "0123456789+-=":
        assert ch in text
    words = set(text.split())
    assert len(words) > 200


def test_grammar_agreement():
    # a plural digit count is followed by a plural noun: "12 dogs", never "12 dog"
    singular = {s for s, p in builtin.grammar.NOUNS if s != p}
    for row in builtin.grammar.grammar(300, 2):
        words = row["text"].split()
        for a, b in zip(words, words[1:], strict=False):
            if a.isdigit() and int(a) >= 2 and b in singular:
                raise AssertionError(f"{a} {b}: {row['text']}")


def test_chat_and_preference_generators():
    from runners.data import builtin

    chats = builtin.generate("arithmetic-chat", 50, 5)
    assert chats == builtin.generate("arithmetic-chat", 50, 5)
    for row in chats:
        roles = [m["role"] for m in row["messages"] if m["role"] != "system"]
        assert roles == ["user", "assistant"] * (len(roles) // 2) and roles
        for q, a in zip(row["messages"][-2::-2], row["messages"][::-2], strict=False):
            if q["role"] == "user":
                assert str(eval(q["content"])) == a["content"]  # the answers are right
    prefs = builtin.generate("arithmetic-preference", 200, 5)
    for row in prefs:
        assert str(eval(row["prompt"])) == row["chosen"] != row["rejected"]
        assert int(row["rejected"]) >= 0
    assert builtin.builtin_format("arithmetic-preference") == "preference"
