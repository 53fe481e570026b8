"""The rules that read a delivery failure: one test per row of the table, then the code-versus-words
decisions (a generic 5.0.0 is never enough for hard; codes about something else stay soft), then
where in the SMTP dialogue the server refused (a "no such user" is about the address only at RCPT TO)."""

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
    ("5.0.0", "550 No such user here", "soft"),  # a remote server's words, but when did it say them?
    ("5.1.351", "550 5.1.351 Remote server returned unknown recipient", "hard"),  # an address code backs them
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
    ("5.7.27", "550 Host does not accept mail", "hard"),  # a null MX: the domain takes no mail at all
    ("5.3.2", "521 5.3.2 <a@example.org>: System not accepting network messages", "hard"),
    ("5.7.27", "550 5.7.27 Sender address has null MX", "soft"),  # our sender, not the reader
    ("4.0.0", "The domain example.org receives no mail: it publishes a null MX", "soft"),  # temporary
    ("5.5.0", "554 Could not deliver: the domain is not reachable. Check the domain name", "hard"),
])
def test_code_and_words_together(status, words, severity):
    assert read_failure(status, words).severity == severity


def test_the_most_specific_words_come_first():
    # The diagnostic names the reason; the report's boilerplate around it is only a fallback.
    assert read_failure("5.0.0", "550 unknown user (in reply to RCPT TO command)",
                        "the remote server refused by policy").reason == "unknown user"
    assert read_failure("5.0.0", "", "mailbox is full").reason == "mailbox full"


@pytest.mark.parametrize(("status", "words", "severity"), [
    # The answer to RCPT TO is the server looking the recipient up: "no such user" there is the address.
    ("5.0.0", "550 No such user here (in reply to RCPT TO command)", "hard"),
    ("5.0.0", ">>> RCPT To:<a@example.org>\n<<< 550 No such user here", "hard"),
    ("5.0.0", "SMTP error from remote mail server after RCPT TO:<a@example.org>: 550 unknown user", "hard"),
    ("5.0.0", "most progress was RCPT TO response; remote host said: 550 unknown user a@example.org", "hard"),
    ("5.0.0", "550 <a@example.org>: Recipient address rejected: no such user", "hard"),
    # After DATA the server has read the message: the same words are a filter's verdict.
    ("5.0.0", ">>> DATA\n<<< 550 No such user here", "soft"),
    ("5.0.0", "server reply: 550 unknown user <a@example.org>\nSMTP command: DATA", "soft"),
    ("5.0.0", "550 Unknown user a@example.org (in reply to end of DATA command)", "soft"),
    # With pipelining, RCPT TO's answers come after ">>> DATA"; DATA's own answer says none was left.
    ("5.0.0", ">>> DATA\n<<< 550 Invalid recipient a@example.org\n<<< 554 5.5.1 Error: no valid recipients", "hard"),
    ("5.1.1", ">>> DATA\n<<< 550 5.1.1 <a@example.org>... User unknown\n<<< 503 5.0.0 Need RCPT", "hard"),
    # x.2.1 is "mailbox disabled"; with "User unknown" in answer to RCPT TO, the words win.
    ("5.2.1", "550 5.2.1 <a@example.org>... User unknown (in reply to RCPT TO command)", "hard"),
    ("5.2.1", "550 5.2.1 This account is disabled (in reply to RCPT TO command)", "soft"),
    ("5.2.1", "550 5.2.1 <a@example.org>... User unknown", "soft"),
])
def test_where_the_server_refused(status, words, severity):
    assert read_failure(status, words).severity == severity


def test_the_reporting_systems_own_words_need_no_rcpt_answer():
    # No remote reply quoted (no diagnostic): the system that writes the report looked its own users up.
    assert read_failure("5.0.0", "", "a@example.org on Tue, 3 Mar 2026\nUnknown Recipient").hard
    # A remote server's reply with the same words, when the report does not say at which command: soft.
    assert not read_failure("5.0.0", "550 Unknown Recipient", "a@example.org on Tue, 3 Mar 2026").hard
