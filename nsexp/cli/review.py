"""`nsexp review PATH`: the sprint review (North Star targets, decisions due, what changed, what
is running, what the tree learned) as a table, JSON, Markdown or Slack mrkdwn, optionally posted
to a Slack incoming webhook."""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
from pathlib import Path
from urllib.parse import urlsplit

from nsexp.errors import InputError
from nsexp.stats.multiplicity import CORRECTIONS

WEBHOOK_ENV = "NSEXP_REVIEW_WEBHOOK"
POST_TIMEOUT_S = 15
_FROM_ENV = ""  # `--post` without a URL: the webhook comes from WEBHOOK_ENV


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register `nsexp review` and its options."""
    p = sub.add_parser(
        "review",
        help="the sprint review: North Star targets, decisions due, what changed since a date",
        description="The sprint review of a data directory since a date: the North Star's "
        "targets and health, the decisions due, verdicts and recommendations that changed, "
        "experiments still reading and tree edges whose label changed (docs/review.md).",
    )
    p.add_argument("path", help="data directory or one CSV/Parquet file")
    p.add_argument("--metrics", help="metrics.toml (default: beside the data)")
    p.add_argument("--control", metavar="VARIANT", help="the control arm (as for readout)")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level")
    p.add_argument("--correction", choices=CORRECTIONS, default="holm")
    p.add_argument(
        "--since",
        metavar="DATE",
        help="ISO date of the last review (default: 14 days before the newest data)",
    )
    p.add_argument("--format", choices=("table", "json", "markdown", "slack"), default="table")
    p.add_argument(
        "--post",
        nargs="?",
        const=_FROM_ENV,
        metavar="URL",
        help=f"send the Slack digest to an incoming webhook (https or loopback only; without "
        f"URL: ${WEBHOOK_ENV}); the URL is never printed",
    )
    p.add_argument(
        "--base-url",
        metavar="URL",
        help="the app's address, for readout links (default: $NSEXP_BASE_URL)",
    )
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> str:
    """The review in the chosen format, or a confirmation that the Slack digest was posted."""
    from nsexp.analysis.asof import parse_day
    from nsexp.analysis.settings import Settings
    from nsexp.io import load_dataset
    from nsexp.report import digest
    from nsexp.report.json import dumps
    from nsexp.report.review import build_review, review_dict
    from nsexp.store.decisions import latest

    since = parse_day(args.since, "--since") if args.since is not None else None
    base_url = args.base_url or os.environ.get(digest.BASE_URL_ENV) or None
    link = digest.readout_link(base_url)  # a bad base URL fails before the data is read
    webhook = _webhook(args.post) if args.post is not None else None
    dataset = load_dataset(args.path, args.metrics, control=args.control)
    path = Path(args.path)
    recorded = latest(path if path.is_dir() else path.parent)
    settings = Settings(alpha=args.alpha, correction=args.correction)
    review = build_review(dataset, settings, since, recorded)
    if webhook is not None:
        post(webhook, digest.to_slack(review, base_url))
        return "posted the review digest to the webhook\n"
    if args.format == "json":
        return dumps(review_dict(review, link))
    if args.format == "markdown":
        return digest.to_markdown(review, base_url)
    if args.format == "slack":
        return digest.to_slack(review, base_url)
    return digest.to_table(review)


def _webhook(given: str) -> str:
    """The webhook URL from --post or the environment, checked (never echoed)."""
    url = given or os.environ.get(WEBHOOK_ENV, "")
    if not url:
        raise InputError(
            f"--post has no URL and ${WEBHOOK_ENV} is not set",
            fix=f"set {WEBHOOK_ENV} to the Slack incoming webhook's address, or give --post URL",
        )
    check_webhook(url)
    return url


def check_webhook(url: str) -> None:
    """Refuse a webhook that is not https, or plain http to this machine (loopback: tests and
    local relays); the message never quotes the URL, which is a secret."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme == "https" and host:
        return
    if parts.scheme == "http" and _loopback(host):
        return
    raise InputError(
        "the webhook URL is refused: only https addresses (or http to this machine) are sent to",
        fix="give the Slack incoming webhook's https address (the URL is not shown here)",
    )


def _loopback(host: str) -> bool:
    """Whether a host name or address is this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def post(url: str, text: str) -> None:
    """POST {"text": text} as JSON; a failure is an InputError that does not quote the URL."""
    import urllib.error  # deferred: http.client costs every nsexp command ~45 ms to start
    import urllib.request

    body = json.dumps({"text": text}).encode()
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT_S) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise InputError(
            f"the webhook answered HTTP {exc.code}",
            fix="check the webhook URL (not shown here) and that it still accepts posts",
        ) from None
    except (urllib.error.URLError, OSError):
        raise InputError(
            "the webhook could not be reached",
            fix="check the network and the webhook URL (not shown here)",
        ) from None
