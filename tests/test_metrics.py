"""Metrics on hand-computed cases: the arithmetic is in the comments."""

import math

import pytest

from eval.metrics import (
    abstention_scores,
    citation_precision,
    contains_evidence,
    doc_hit_at_k,
    echo_kind,
    evidence_coverage,
    evidence_rank,
    evidence_recall,
    first_sentence_evidence,
    hit_at_k,
    latency_summary,
    mean,
    ndcg_at_k,
    normalize,
    percentile,
    recall_at_k,
    recall_ids_at_k,
    reciprocal_rank,
    supports,
)

# --- normalization -----------------------------------------------------------


def test_normalize_maps_curly_quotes_to_straight():
    curly = "\u201cHi\u201d \u2018x\u2019 \u201eY\u201f \u00abz\u00bb \u201aw\u201b"
    assert normalize(curly) == "\"Hi\" 'x' \"Y\" \"z\" 'w'"


def test_normalize_maps_primes():
    # ″ is mapped before NFKC, which would otherwise split it into two primes.
    assert normalize("5\u2032 10\u2033") == "5' 10\""


def test_normalize_collapses_whitespace_and_strips():
    assert normalize("  a\n\tb \r\n  c\u00a0d  ") == "a b c d"


def test_normalize_applies_nfkc_and_keeps_case():
    # Fullwidth letters and the "fi" ligature fold to ASCII; case is untouched.
    assert normalize("\uff21\uff42c \ufb01ne") == "Abc fine"


def test_normalize_empty():
    assert normalize("") == ""
    assert normalize(" \n ") == ""


def test_contains_evidence_across_line_break_and_quote_style():
    passage = "The treaty was\nsigned in \u201cParis\u201d  in 1990."
    assert contains_evidence(passage, 'was signed in "Paris" in 1990')


def test_contains_evidence_curly_evidence_straight_passage():
    assert contains_evidence("He said 'no' twice.", "said \u2018no\u2019")


def test_contains_evidence_is_case_sensitive():
    assert not contains_evidence("signed in Paris", "signed in paris")


def test_contains_evidence_empty_evidence_matches_nothing():
    assert not contains_evidence("anything", "")
    assert not contains_evidence("anything", " \n")


# --- passage-level retrieval -------------------------------------------------

PASSAGES = ["nothing here", "b foo", "c foo bar"]


def test_evidence_rank_first_passage_with_any_evidence():
    # "bar" first appears at 3 but "foo" at 2: the earlier one wins.
    assert evidence_rank(PASSAGES, ["bar", "foo"]) == 2


def test_evidence_rank_none():
    assert evidence_rank(PASSAGES, ["zzz"]) is None
    assert evidence_rank([], ["foo"]) is None
    assert evidence_rank(PASSAGES, []) is None


def test_evidence_rank_duplicate_passages_keep_first_rank():
    assert evidence_rank(["foo", "foo"], ["foo"]) == 1


def test_hit_at_k_cutoff():
    # First evidence at rank 2.
    assert hit_at_k(PASSAGES, ["foo"], 1) == 0.0
    assert hit_at_k(PASSAGES, ["foo"], 2) == 1.0
    assert hit_at_k(PASSAGES, ["foo"], 50) == 1.0


def test_hit_at_k_no_relevant_and_empty():
    assert hit_at_k(PASSAGES, ["zzz"], 3) == 0.0
    assert hit_at_k([], ["foo"], 3) == 0.0


def test_k_must_be_positive():
    with pytest.raises(ValueError):
        hit_at_k(PASSAGES, ["foo"], 0)


def test_reciprocal_rank():
    # rank 2 -> 1/2; rank 3 ("bar") -> 1/3.
    assert reciprocal_rank(PASSAGES, ["foo"]) == pytest.approx(0.5)
    assert reciprocal_rank(PASSAGES, ["bar"]) == pytest.approx(1 / 3)


def test_reciprocal_rank_beyond_cutoff_is_zero():
    # rank 3 > k=2 -> 0; rank 11 > default k=10 -> 0.
    assert reciprocal_rank(PASSAGES, ["bar"], k=2) == 0.0
    assert reciprocal_rank(["x"] * 10 + ["foo"], ["foo"]) == 0.0
    assert reciprocal_rank(["x"] * 10 + ["foo"], ["foo"], k=11) == pytest.approx(1 / 11)


def test_reciprocal_rank_none_found():
    assert reciprocal_rank(PASSAGES, ["zzz"]) == 0.0
    assert reciprocal_rank([], ["foo"]) == 0.0


def test_recall_at_k_several_evidence_strings():
    passages = ["alpha beta", "x", "gamma"]
    evidence = ["alpha", "beta", "gamma"]
    # k=1: alpha, beta found, gamma not -> 2/3; k=3: all -> 3/3.
    assert recall_at_k(passages, evidence, 1) == pytest.approx(2 / 3)
    assert recall_at_k(passages, evidence, 3) == 1.0
    assert recall_at_k(passages, ["alpha", "zzz"], 3) == pytest.approx(0.5)


def test_recall_at_k_duplicate_evidence_counts_once():
    # "alpha" twice and the same quote in two styles are 2 distinct strings;
    # only alpha is present -> 1/2.
    evidence = ["alpha", "alpha", "\u201cq\u201d", '"q"']
    assert recall_at_k(["alpha"], evidence, 1) == pytest.approx(0.5)


def test_recall_at_k_empty():
    assert recall_at_k(["alpha"], [], 1) == 0.0
    assert recall_at_k([], ["alpha"], 1) == 0.0


# --- document-level ----------------------------------------------------------


def test_doc_hit_at_k_dedupes_sources_before_cutoff():
    # [a, a, a, b] -> distinct [a, b]: b is distinct rank 2.
    sources = ["a", "a", "a", "b"]
    assert doc_hit_at_k(sources, {"b"}, 2) == 1.0
    assert doc_hit_at_k(sources, {"b"}, 1) == 0.0


def test_doc_hit_at_k_empty_and_no_relevant():
    assert doc_hit_at_k([], {"a"}, 5) == 0.0
    assert doc_hit_at_k(["a", "b"], set(), 5) == 0.0
    assert doc_hit_at_k(["a", "b"], ["c"], 5) == 0.0


# --- graded nDCG / id recall -------------------------------------------------

QRELS = {"d1": 2, "d2": 1, "d4": 0}
# IDCG@10 from grades [2, 1]: 2/log2(2) + 1/log2(3) = 2 + 0.6309298 = 2.6309298
IDCG = 2 + 1 / math.log2(3)


def test_ndcg_graded():
    # ranks: d3 (0), d1 (2), d2 (1)
    # DCG = 0 + 2/log2(3) + 1/log2(4) = 1.2618595 + 0.5 = 1.7618595
    # nDCG = 1.7618595 / 2.6309298 = 0.6696718
    assert ndcg_at_k(["d3", "d1", "d2"], QRELS) == pytest.approx(0.6696718)


def test_ndcg_cutoff():
    # k=2: DCG = 0 + 2/log2(3) = 1.2618595; IDCG@2 = 2.6309298 -> 0.4796249
    assert ndcg_at_k(["d3", "d1", "d2"], QRELS, k=2) == pytest.approx(0.4796249)
    # k=1: DCG = 1/log2(2) = 1 (d2); IDCG@1 = 2 -> 0.5
    assert ndcg_at_k(["d2", "d1"], QRELS, k=1) == pytest.approx(0.5)


def test_ndcg_perfect_and_duplicates_count_once():
    assert ndcg_at_k(["d1", "d2"], QRELS) == pytest.approx(1.0)
    # [d1, d1, d2] -> [d1, d2]: the repeat neither scores again nor pushes d2 down.
    assert ndcg_at_k(["d1", "d1", "d2"], QRELS) == pytest.approx(1.0)
    # Without dedupe d2 would sit at rank 3 and the score would drop below 1.


def test_ndcg_ties_same_grade_any_order():
    # Two grade-1 docs: either order gives DCG = 1 + 1/log2(3) = IDCG.
    qrels = {"a": 1, "b": 1}
    assert ndcg_at_k(["a", "b"], qrels) == pytest.approx(1.0)
    assert ndcg_at_k(["b", "a"], qrels) == pytest.approx(1.0)


def test_ndcg_non_positive_grades_are_not_relevant():
    # d4 has grade 0 and x grade -1: DCG = 0 + 0 + 1/log2(4) = 0.5
    # nDCG = 0.5 / 2.6309298 = 0.1900468
    qrels = {**QRELS, "x": -1}
    assert ndcg_at_k(["d4", "x", "d2"], qrels) == pytest.approx(0.5 / IDCG)
    assert ndcg_at_k(["d4", "x", "d2"], qrels) == pytest.approx(0.1900468)


def test_ndcg_no_relevant_items():
    assert ndcg_at_k(["a", "b"], {}) == 0.0
    assert ndcg_at_k(["a", "b"], {"a": 0, "b": -1}) == 0.0
    assert ndcg_at_k([], QRELS) == 0.0


def test_recall_ids_at_k():
    # relevant = {d1, d2}; [d3, d1, d1, x, d2] -> [d3, d1, x, d2]
    ranked = ["d3", "d1", "d1", "x", "d2"]
    assert recall_ids_at_k(ranked, QRELS, k=3) == pytest.approx(0.5)  # d1 only
    assert recall_ids_at_k(ranked, QRELS, k=4) == 1.0
    assert recall_ids_at_k(ranked, QRELS) == 1.0


def test_recall_ids_at_k_ignores_grade_zero_and_empty():
    assert recall_ids_at_k(["d4"], QRELS, k=1) == 0.0
    assert recall_ids_at_k(["a"], {"a": 0}) == 0.0
    assert recall_ids_at_k([], QRELS) == 0.0


# --- answer-level ------------------------------------------------------------


def test_evidence_recall_answer_or_cited_passage():
    answer = "The treaty was\nsigned in 1990 [1]."
    cited = ["It took effect in \u201cMarch\u201d."]
    evidence = ["signed in 1990", 'in "March"', "never appears"]
    # 1990 in the answer, March in the citation, third missing -> 2/3
    assert evidence_recall(answer, cited, evidence) == pytest.approx(2 / 3)


def test_evidence_recall_empty():
    assert evidence_recall("text", [], []) == 0.0
    assert evidence_recall("", [], ["x"]) == 0.0


EIFFEL = "Construction of the Eiffel Tower finished in 1889."


def test_supports_enough_overlap():
    # content tokens {eiffel, tower, completed, 1889}; in passage: 3 of 4 = 0.75
    sentence = "The Eiffel Tower was completed in 1889 [1]."
    assert supports(sentence, EIFFEL)
    assert not supports(sentence, EIFFEL, threshold=0.8)


def test_supports_is_case_insensitive():
    assert supports("EIFFEL TOWER 1889", EIFFEL, threshold=1.0)


def test_supports_strips_citation_markers():
    # {paris, million, people}; "has" is a stopword, "2" is 1 char.
    # Were "[12]" kept, "12" would be a 4th token missing from the passage.
    passage = "Paris has 2 million people."
    assert supports("Paris has 2 million people [12][3].", passage, threshold=1.0)
    assert supports("Paris has 2 million people [1, 3].", passage, threshold=1.0)


def test_supports_unsupported():
    # {moon, made, cheese}: 0 of 3 in the passage
    assert not supports("The moon is made of cheese [1].", EIFFEL)


def test_supports_no_content_tokens_is_supported():
    assert supports("It is [2][3].", EIFFEL)
    assert supports("", EIFFEL)


def test_supports_repeated_words_count_once():
    # {eiffel, moon}: 1 of 2 = 0.5, however often "eiffel" repeats
    assert not supports("Eiffel eiffel eiffel moon", EIFFEL)
    assert supports("Eiffel eiffel eiffel moon", EIFFEL, threshold=0.5)


def test_citation_precision():
    pairs = [
        ("The Eiffel Tower was completed in 1889 [1].", EIFFEL),  # supported
        ("Eiffel Tower construction finished [2].", EIFFEL),  # supported
        ("The moon is made of cheese [3].", EIFFEL),  # not
    ]
    assert citation_precision(pairs) == pytest.approx(2 / 3)


def test_citation_precision_custom_judge_and_none():
    assert citation_precision([("a", "b")], judge=lambda s, p: True) == 1.0
    assert citation_precision([("a", "b")], judge=lambda s, p: False) == 0.0
    assert citation_precision([]) is None


def test_abstention_scores():
    # (should, did): TP=1 (T,T), FN=1 (T,F), FP=1 (F,T), TN=2; answerable=3
    cases = [(True, True), (True, False), (False, True), (False, False), (False, False)]
    assert abstention_scores(cases) == {
        "abstention_precision": pytest.approx(1 / 2),  # 1 / (1 + 1)
        "abstention_recall": pytest.approx(1 / 2),  # 1 / (1 + 1)
        "false_abstention_rate": pytest.approx(1 / 3),  # 1 / 3
    }


def test_abstention_scores_none_denominators():
    assert abstention_scores([]) == {
        "abstention_precision": None,
        "abstention_recall": None,
        "false_abstention_rate": None,
    }
    # Only answerable questions, all answered: no abstentions and none expected.
    assert abstention_scores([(False, False)]) == {
        "abstention_precision": None,
        "abstention_recall": None,
        "false_abstention_rate": 0.0,
    }
    # Only unanswerable ones, all abstained: no answerable denominator.
    assert abstention_scores([(True, True)]) == {
        "abstention_precision": 1.0,
        "abstention_recall": 1.0,
        "false_abstention_rate": None,
    }


# --- latency and averaging ---------------------------------------------------


def test_percentile_linear_interpolation():
    values = [4, 1, 3, 2]  # sorted [1, 2, 3, 4]
    assert percentile(values, 50) == pytest.approx(2.5)  # pos 1.5: 2 + 0.5*1
    assert percentile(values, 95) == pytest.approx(3.85)  # pos 2.85: 3 + 0.85*1
    assert percentile(values, 0) == 1
    assert percentile(values, 100) == 4
    # numpy.percentile([15, 20, 35, 40, 50], 40) == 29: pos 1.6 -> 20 + 0.6*15
    assert percentile([15, 20, 35, 40, 50], 40) == pytest.approx(29.0)


def test_percentile_edge_cases():
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([5, 5, 5], 50) == 5
    with pytest.raises(ValueError):
        percentile([1], 101)


def test_latency_summary():
    # p95: pos 3*0.95 = 2.85 -> 300 + 0.85*100 = 385
    assert latency_summary([400, 100, 300, 200]) == {
        "p50": pytest.approx(250.0),
        "p95": pytest.approx(385.0),
        "mean": pytest.approx(250.0),
        "n": 4,
    }


def test_latency_summary_empty():
    assert latency_summary([]) == {"p50": None, "p95": None, "mean": None, "n": 0}


def test_mean_ignores_none():
    assert mean([1.0, None, 2.0]) == pytest.approx(1.5)
    assert mean([0.0]) == 0.0
    assert mean([None, None]) is None
    assert mean([]) is None


# --- answer-level --------------------------------------------------------------


def test_first_sentence_evidence_reads_the_sentence_and_its_quotes():
    evidence = ["headed by Vladimir Medinsky"]
    assert first_sentence_evidence("It is headed by Vladimir Medinsky. [1]", [], evidence) == 1.0
    # An LLM sentence paraphrases; the quote it cites holds the evidence.
    assert first_sentence_evidence("Medinsky leads it. [1]", ["The delegation is headed by Vladimir Medinsky."],
                                   evidence) == 1.0
    assert first_sentence_evidence("Talks were held on the border. [1]", ["Talks were held."], evidence) == 0.0
    assert first_sentence_evidence("anything", [], []) == 0.0


def test_evidence_coverage_counts_documents_not_strings():
    one_doc = [["Turkey and Israel could play", "Turkey and Israel as mediators"]]  # two places, one fact
    assert evidence_coverage(["Turkey and Israel could play a useful role"], one_doc) == 1.0
    two_docs = [["neutral status"], ["permanent neutrality"]]
    assert evidence_coverage(["Ukraine did have a neutral status.", "unrelated"], two_docs) == 0.5  # 1 of 2
    assert evidence_coverage(["a neutral status and permanent neutrality"], two_docs) == 1.0
    assert evidence_coverage(["x"], []) == 0.0 and evidence_coverage(["x"], [[]]) == 0.0


@pytest.mark.parametrize("text, line, kind", [
    ("How will we know if Putin is serious?", None, "question"),
    ("“Will it end?”", None, "question"),
    ("Reader comment 4 by KT Chong: “Why would Russia do that?” [2]", None, "question"),
    ("[By Guancha Observer columnist Anton Nilman, translated by Kaihuan Xue]", None, "credit"),
    ("By Jane Doe", None, "credit"),
    ("Photo: Reuters", None, "credit"),
    ("Disclaimer: This article solely represents the author's viewpoint.", None, "credit"),
    ("Potholes in the road to peace", "Potholes in the road to peace", "heading"),
    ("May 15th, Zelensky meeting with Erdogan in Ankara, Reuters",
     "May 15th, Zelensky meeting with Erdogan in Ankara, Reuters", "heading"),
    # Not echoes: a sentence, a bullet item, a title-like phrase inside a longer line, "by" in prose.
    ("The talks went nowhere.", "The talks went nowhere.", None),
    ("• Trump wants to end the conflict fairly", "  • Trump wants to end the conflict fairly", None),
    ("Potholes in the road to peace", "Potholes in the road to peace were many, he said.", None),
    ("Kiev is either split or neutral territory", "Kiev is either split or neutral territory", None),
    ("By the end of May, Russia had agreed.", None, None),
    ("Sources of the conflict are old.", None, None),
    ("", None, None),
])
def test_echo_kind(text, line, kind):
    assert echo_kind(text, line) == kind
