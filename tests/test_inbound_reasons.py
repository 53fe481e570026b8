"""The rules that read a delivery failure: one test per row of the table, then the code-versus-words
decisions (a generic 5.0.0 is never enough for hard; codes about something else stay soft)."""

from __future__ import annotations

import pytest

from issues.inbound.reasons import RULES, matching_rule, read_failure


@pytest.mark.parametrize("rule", RULES, ids=[r.reason for r in RULES])
def test_each_rule_reads_its_own_example(rule):
    assert matching_rule(rule.example) is rule
    assert read_failure("5.0.0", rule.example).severity == rule.severity


@pytest.mark.parametrize(("status", "words", "severity"), [
    ("5.0.0", "", "soft"),  # a generic code alone is never enough
    ("", "550 Requested action not taken", "soft"),  # nor is a bare reply code
    ("5.1.1", "", "hard"),  # a specific code is, when the words say nothing
    ("5.1.10", "", "hard"),
    ("5.0.0", "550 No such user here", "hard"),
    ("5.1.1", "552 Mailbox full, try later", "soft"),  # the words beat the code
    ("5.7.1", "550 5.7.1 User unknown", "soft"),  # a policy code is a filter speaking
    ("5.2.1", "550 5.2.1 User unknown", "soft"),  # a disabled mailbox may come back
    ("5.1.8", "553 Domain of sender address does not exist", "soft"),  # about our sender, not the reader
    ("4.0.0", "DNS type 'mx' lookup responded NXDOMAIN: domain name not found", "soft"),  # temporary
    ("4.1.1", "450 4.1.1 Recipient address rejected: User unknown in virtual alias table", "hard"),
    ("5.0.0", "550 User unknown (in reply to end of DATA command)", "soft"),  # content was read first
    ("5.0.0", "550 : User unknown", "soft"),  # no recipient named: refused at DATA
    ("5.0.0", "Host not found, try again", "soft"),
    ("5.4.4", "Host or domain name not found. Name service error for name=nowhere.example type=A", "hard"),
    ("5.0.0", "Retry timeout exceeded", "soft"),
    ("5.0.0", "550 5.1.1 <a@example.org> user unknown", "hard"),
])
def test_code_and_words_together(status, words, severity):
    assert read_failure(status, words).severity == severity


def test_the_most_specific_words_come_first():
    # The diagnostic names the reason; the report's boilerplate around it is only a fallback.
    assert read_failure("5.0.0", "550 unknown user", "the remote server refused by policy").reason == "unknown user"
    assert read_failure("5.0.0", "", "mailbox is full").reason == "mailbox full"
