"""Why a delivery failed, and whether that ends the address: one table of rules over the diagnostic.

Mail systems word the same reasons in much the same phrases (``user unknown``, ``mailbox
full``, ``blocked``, ``rate limit``), while their codes are often generic (``550``,
``5.0.0``) or missing.  So a failure is read from its words first, then from its enhanced
status code when that code is specific.  Only an address that does not exist, or whose
domain does not, is *hard* (the reader is marked bounced at once); everything else (a full
mailbox, a filter, a block of our server, a policy, a rate limit, a gave-up-retrying) is
*soft*: counted, and bounced only after repeated failures.  A generic ``5.0.0``, a bare
``550`` or no code at all is never enough for hard, since wrongly dropping a reader is the
costly mistake.  Nor is a remote server's "no such user" unless it was its answer to RCPT TO
(where servers look recipients up) or comes with an address code: after DATA the server has
read the message, and the same words are then a filter's verdict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """One reason a mail system gives, the phrases that say it, and what it does to the reader."""

    reason: str
    severity: str  # "hard" or "soft"
    pattern: re.Pattern[str]
    example: str  # a diagnostic in our own words that this rule must read (tested row by row)
    # A remote server's "no such user" is about the address only as its answer to RCPT TO: the same
    # words after DATA, or where the report does not say when, may be a filter speaking (see below).
    at_rcpt: bool = False


def _rule(reason: str, severity: str, pattern: str, example: str, *, at_rcpt: bool = False) -> Rule:
    return Rule(reason, severity, re.compile(pattern, re.I), example, at_rcpt)


# First match wins.  The reasons that are about capacity, time, content or our own sending come
# before the unknown-address phrases, so a refusal that happens to mention the recipient is never
# read as "address gone"; the broad refusals (policy, denied, network trouble) come last.
RULES: tuple[Rule, ...] = (
    _rule("expired", "soft",
          r"\bexpired\b|retry (time(out)?|period) (exceeded|reached|expired)|too long in (the )?queue"
          r"|(gave|giving|give) up|undeliverable for \d+ (day|hour)|(after|for|within) \d+ (day|hour)s?\b.*deliver"
          r"|deliver\w* .*(after|for|within) \d+ (day|hour)|maximum (time|delivery time)|time limit|timeout exceeded"
          r"|could not be delivered within",
          "Retry timeout exceeded: the message was too long in the queue, giving up"),
    _rule("mailbox full", "soft",
          r"mail ?box (is |was )?(full|over|exceed)|over ?quota|quota|(insufficient|not enough|out of) (disk |storage )"
          r"?(space|storage)|(storage|disk) (space )?(is )?(full|exceeded)|mailbox size|\bis full\b|full mailbox"
          r"|exceed\w* (the |his |her |their )?(storage|mailbox)|too many messages in|mailfolder is full",
          "452 4.2.2 The recipient's mailbox is full and cannot take more mail"),
    _rule("message too big", "soft",
          r"too (big|large)|size (limit|exceed)|exceeds? (the )?(max\w*|size|allowed)|message size|\blength limit",
          "552 5.3.4 Message size exceeds the fixed limit for this server"),
    _rule("spam or virus", "soft",
          r"spam|junk|unsolicited|bulk mail|virus|malware|phish|content (filter|reject|not accepted)"
          r"|suspicious|looks like|rejected (due to|because of) (its )?content|not delivered for policy reasons",
          "554 5.7.1 Message rejected as spam by the content filter"),
    _rule("sender authentication", "soft",
          r"\bspf\b|\bdkim\b|\bdmarc\b|unauthenticated|authentication|not authenticated|sender (address |domain )?"
          r"(verif|rejected|not allowed|is not)|reverse (dns|lookup|name)|\bptr\b|\brdns\b|\bhelo\b|\behlo\b"
          r"|client host .*(rejected|refused)|does not resolve|smtp server of your isp|use (your|the) (isp|provider)"
          r"|sender\W.{0,30}null mx",
          "550 5.7.26 Unauthenticated mail: the sending domain has a DMARC policy of reject"),
    # Microsoft's hosted mail answers "Access denied" at RCPT for an address its directory lacks.
    _rule("unknown user (directory)", "hard", r"recipient address rejected: access denied",
          "550 5.4.1 Recipient address rejected: Access denied. AS(201806281) [mx.example.net]", at_rcpt=True),
    # The recipient's domain takes no mail at all: a null MX (RFC 7505), or a host that says so
    # (RFC 7504's 521/556 "does not accept mail", RFC 3463's x.3.2 "not accepting network messages").
    _rule("domain accepts no mail", "hard",
          r"(host|domain|server|system)\b[^.;]{0,40}\b(does not|doesn't|do not|will not|never) (accept|receive)s? "
          r"(e-?mail|mail)\b(?! from)|not accepting network messages|\bnull mx\b",
          "556 5.1.10 The domain of this address has a null MX and receives no mail"),
    _rule("blocked", "soft",
          r"block|black ?list|deny ?list|listed (at|on|in|by)|\brbl\b|\bdnsbl\b|spamhaus|spamcop|reputation|banned"
          r"|poor reputation|ip .*(rejected|refused|not allowed)|connection (rejected|refused) .*(from|by)"
          r"|access denied|not accepting mail from|(host|server|sender) (is )?(rejected|refused)",
          "554 5.7.1 Service unavailable; client host [192.0.2.1] blocked using a DNS block list"),
    _rule("rate limit", "soft",
          r"too many (connections|messages|recipients|concurrent|sessions|mails)|rate.?limit|throttl|too fast"
          r"|exceeded .*limit|limit .*exceeded|sending limit|frequency|too much mail",
          "421 4.7.0 Too many messages from your IP, rate limited; try again later"),
    _rule("account disabled", "soft",
          r"suspend|disabled|inactive|deactivated|\blocked\b|frozen|on hold|account (is )?(closed|unavailable|blocked)"
          r"|temporarily (unavailable|deferred|disabled)|not (currently )?(active|accepting)",
          "550 5.2.1 The email account that you tried to reach is disabled"),
    _rule("unknown user", "hard",
          r"(unknown|invalid|bad|illegal|non-?existent|no such|not a valid|not a known|unrecogni[sz]ed)"
          r"( (?!sender|from|helo|return|reverse|domain)[\w-]+){0,2} "
          r"(user|recipient|mailbox|address|account|person|alias|local.?part|userid|user id)"
          r"|not our user"
          r"|(user|recipient|mailbox|address|account|addressee)( name)?s? (is |was )?(unknown|not (found|known|listed|"
          r"recogni[sz]ed|valid)|does ?n[o']t exist|invalid|doesn't exist)|(does ?n[o']t|did not|doesn't) exist"
          r"|no mailbox|not our customer|no longer (valid|exists?)|unrouteable address|user not found"
          r"|(doesn't|does not) have an? .{0,20}account|addressee unknown|unknown or illegal alias"
          r"|(address|account|mailbox|recipient)\b.{0,12}(could ?n[o']t|can ?n[o']t|could not|cannot) be found"
          r"|no such (user|mailbox|recipient)|user ?unknown|recipient address rejected: user|not listed in",
          "550 5.1.1 <reader@example.org>: Recipient address rejected: User unknown in local recipient table",
          at_rcpt=True),
    _rule("address moved", "hard",
          r"has moved|moved (to|permanently)|changed (his|her|their) (e-?mail )?address|no longer (uses|at|with)",
          "551 5.1.6 User has moved; please try another address"),
    _rule("unknown domain", "hard",
          r"host (or domain name )?(not found|unknown)(?!,? try again)|unknown (host|domain)|domain (name )?(not found|does ?n[o']t exist"
          r"|unknown|is not (valid|configured))|no (mx|mail exchanger|such domain)|nxdomain"
          r"|unrouteable (mail )?domain|no valid (mx|host)|couldn't find any host|domain (is )?not reachable",
          "550 5.1.2 Host or domain name not found. Name service error for name=mail.example.invalid type=MX"),
    _rule("policy", "soft",
          r"polic|not permitted|not allowed|prohibit|refused|denied|administrative|not authori[sz]ed|relay"
          r"|forbidden|restricted|permission",
          "550 5.7.1 Message refused: sender not permitted by local policy"),
    _rule("system trouble", "soft",
          r"timed? ?out|connection (refused|reset|lost|closed|dropped)|lost connection|network|no route"
          r"|unreachable|temporar|system (error|problem)|internal (server )?error|resources|loop|too many hops"
          r"|i/o error|out of memory|server (is )?(down|busy|unavailable)|service (is )?(unavailable|not available)"
          r"|try again|deferred|syntax error|command (unrecognized|not implemented)|protocol error",
          "451 4.3.0 Temporary system problem, please try again later"),
)

# The SMTP command the remote server refused: DSNs and transcripts say it in their own ways
# ("in reply to RCPT TO command", "after end of data", ">>> DATA" before "<<< 550 ...", "SMTP error
# from remote mail server after RCPT TO:<...>", "RCPT TO response", "SMTP command: DATA",
# "Recipient address rejected: ...").
STAGE_RE = re.compile(
    r"(?:in reply to|after|response to|did not like our)\s+(?:the\s+)?(?P<a>end of data|data|rcpt|mail from)\b"
    r"|>>>\s*(?P<b>data|rcpt|mail)\b"
    r"|\bsmtp[ _:-]*(?:command\W*)?(?P<c>rcpt|data)\b"
    r"|most progress was (?P<d>rcpt)\b"
    r"|\b(?P<e>rcpt|data) command\b"
    r"|(?P<f>recipient) address rejected",  # the answer to RCPT TO of Postfix and of Microsoft's hosted mail
    re.I,
)
# With pipelining the server's answers to RCPT TO show up after ">>> DATA" in a transcript; its answer
# to DATA itself then says no recipient was left ("503 Need RCPT", "554 no valid recipients").
PIPELINED_RE = re.compile(r"\bneed rcpt\b|no valid recipients", re.I)
# A refusal whose address slot is empty ("550 : User unknown") came at DATA: there is no one
# recipient for the server to name.
EMPTY_SLOT_RE = re.compile(r"\b5\d\d[ :]*: *(user unknown|unknown user)", re.I)

# Enhanced codes that say the address itself is gone (RFC 3463): bad mailbox, bad domain, bad
# syntax of the address, moved, and Microsoft's "recipient not found" (5.1.10).
HARD_CODES = frozenset({"5.1.1", "5.1.2", "5.1.3", "5.1.6", "5.1.10"})
# Codes that are specific about something other than the recipient's address: the sender's
# address (x.1.7, x.1.8), the mailbox's state (x.2.1 and on), the receiving system (x.3.1 and on;
# x.2.0 and x.3.0 are "other", as generic as 5.0.0), a delivery
# that timed out (x.4.7), the content (x.6.x), security or policy (x.7.x).  These stay soft
# whatever the words say ("550 5.7.1 User unknown" is a filter speaking).
SOFT_CODE_RE = re.compile(r"^[45]\.(1\.[78]|2\.[1-9]\d*|3\.[1-9]\d*|4\.7|6\.\d+|7\.\d+)$")
# Except where mail systems use the code for what their words say about the address: x.2.1
# ("mailbox disabled") comes with "User unknown" from servers that look recipients up at RCPT TO,
# and x.3.2 ("not accepting messages") and x.7.27 (RFC 7505's null MX) with "does not accept mail".
WORDS_DECIDE_CODES = frozenset({"2.1", "3.2", "7.27"})
# The address class of RFC 3463 (x.1.x) without the codes about our sender (x.1.7, x.1.8): a code
# here says the refusal was about the recipient's address, as an answer to RCPT TO would.
ADDRESS_CODE_RE = re.compile(r"^[45]\.1\.(?!7$|8$)\d+$")
STATUS_IN_WORDS_RE = re.compile(r"\b([45])\.(\d{1,3})\.(\d{1,3})\b")


@dataclass(frozen=True)
class Reading:
    """What one failure means for the reader: hard or soft, and the reason in words."""

    severity: str
    reason: str

    @property
    def hard(self) -> bool:
        return self.severity == "hard"


def matching_rule(text: str) -> Rule | None:
    """The first rule whose phrases occur in ``text``."""
    return next((rule for rule in RULES if rule.pattern.search(text)), None)


def refusal_stage(*texts: str) -> str:
    """The SMTP command the server refused at, as the report says it: "rcpt", "data", "mail" or ''."""
    for text in filter(None, texts):
        if EMPTY_SLOT_RE.search(text):
            return "data"
        if PIPELINED_RE.search(text):
            return "rcpt"
        m = STAGE_RE.search(text)
        if m:
            word = next(g for g in m.groups() if g).lower()
            return "data" if word.endswith("data") else "mail" if word.startswith("mail") else "rcpt"
    return ""


def _specific_status(status: str, reply: str) -> str:
    """``status``, or when it is generic (x.0.0 or none) a specific code of the same class in the server's reply."""
    if status and not status.endswith(".0.0"):
        return status
    m = STATUS_IN_WORDS_RE.search(reply)
    if m and not m.group(0).endswith(".0.0") and (not status or m.group(1) == status[0]):
        return m.group(0)
    return status


def read_failure(status: str, *texts: str) -> Reading:
    """Hard or soft, from the failure's status code and its words (``texts``, most specific first).

    The first text is the remote server's reply when the report quotes one (a Diagnostic-Code).
    A code that is specific about something other than the address keeps it soft; a refusal at
    DATA (after the server read the message) is a filter, so soft; else the first rule matching
    the words decides, except that a temporary (4.x.x) code only allows hard when it is itself
    specific (4.1.1), and that a remote server's "no such user" needs its RCPT TO answer (or a
    code like 5.1.1) behind it.  With no rule matching, only a specific hard code (5.1.1 and
    kin) makes it hard.  A generic or missing code leaves it soft.
    """
    said = [t for t in texts if t]
    reply = texts[0] if texts else ""  # the remote server's own words, when the report quotes them
    rule = next((r for r in map(matching_rule, said) if r is not None), None)
    code = _specific_status(status, reply)
    if SOFT_CODE_RE.match(code) and not (code[2:] in WORDS_DECIDE_CODES and rule and rule.severity == "hard"):
        return Reading("soft", rule.reason if rule and rule.severity == "soft" else f"status {code}")
    stage = refusal_stage(*said)
    if stage == "data" and code not in HARD_CODES:
        return Reading("soft", "refused after reading the message (a filter)")
    if rule is not None:
        if rule.severity == "hard" and code.startswith("4.") and "5" + code[1:] not in HARD_CODES:
            return Reading("soft", f"{rule.reason}, but only a temporary failure ({code})")
        if rule.at_rcpt and reply and stage != "rcpt" and not ADDRESS_CODE_RE.match(code):
            return Reading("soft", f"{rule.reason}, but not said in answer to RCPT TO (a filter may have said it)")
        return Reading(rule.severity, rule.reason)
    if code in HARD_CODES:
        return Reading("hard", f"status {code}")
    return Reading("soft", f"status {code}" if code and not code.endswith(".0.0") else "unexplained failure")


def is_expiry(text: str) -> bool:
    """The sending system gave up retrying: a final failure, whatever the report's Action says."""
    return RULES[0].pattern.search(text) is not None
