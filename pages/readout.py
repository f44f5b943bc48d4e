"""Readout: one experiment in full, live from the data or pinned for a review.

A live and a pinned readout are the same ExperimentReadout rendered by the same functions;
only the banner, the share block's link and the controls differ.
"""

import datetime as dt
import json
from dataclasses import asdict

import streamlit as st

from nsexp.analysis.asof import as_of_sentence
from nsexp.analysis.methods import methods
from nsexp.analysis.readout import ExperimentReadout
from nsexp.analysis.settings import DEFAULT, Settings
from nsexp.errors import InputError
from nsexp.report.csv import readout_csv
from nsexp.report.markdown import experiment_markdown
from nsexp.report.notes import threshold_note
from nsexp.report.text import md_code, md_escape
from nsexp.stats.multiplicity import CORRECTION_NAMES
from nsexp.store import pins
from nsexp.store.storage import new_delete_code
from pages.ui import checks, experiment, frame, identity, loaders, nav, storage, url
from pages.ui.frame import DataContext, as_sentence


def when(stamp: str) -> str:
    """'2026-11-22T08:00:00Z' as '2026-11-22 08:00:00 UTC'."""
    return stamp.replace("T", " ").replace("Z", " UTC")


def method_note(settings: Settings) -> str:
    """', always-valid intervals, Bayesian engine, CUPED off' for the methods that are not at
    their default ('' when none is)."""
    notes = []
    if settings.sequential:
        notes.append("always-valid (sequential) intervals")
    if settings.engine == "bayesian":
        notes.append("the Bayesian engine")
    if settings.cuped is False:
        notes.append("CUPED off")
    return "".join(f", {n}" for n in notes)


def share(
    e: ExperimentReadout,
    method_lines: list[str],
    fingerprint: str,
    query: dict[str, str | list[str]],
    stem: str,
    *,
    caption: str = "",
    pin_json: str | None = None,
    as_of: dt.date | None = None,
) -> bool:
    """The link that reopens this view, the CSV and Markdown downloads (both carrying that link
    and the settings), how the figures were computed (Methods), and either the pin's JSON (a
    pinned view) or the Pin button (a live one, not of a readout as of a date: a pin freezes
    what is seen now); True when Pin was clicked. Each in a popover, which a fresh tab builds
    only once opened (a closed expander's Methods list was built by every fresh tab)."""
    link = nav.app_url("readout", query)
    st.subheader("Share and export", anchor=False)
    markdown = experiment_markdown(e, method_lines, fingerprint=fingerprint, link=link, as_of=as_of)
    with st.container(horizontal=True):
        with st.popover("Link to this view", icon=":material/link:"):
            if caption:
                st.caption(caption)
            st.code(link, language=None)
        # the downloads in one popover: one label for a fresh tab to lay out, not two or three
        with st.popover("Download", icon=":material/download:"):
            st.download_button(
                "Download CSV",
                readout_csv(e, link),
                file_name=f"{stem}.csv",
                mime="text/csv",
                icon=":material/table:",
            )
            st.download_button(
                "Download Markdown",
                markdown,
                file_name=f"{stem}.md",
                mime="text/markdown",
                icon=":material/description:",
            )
            if pin_json is not None:
                st.download_button(
                    "Download the pin (JSON)",
                    pin_json,
                    file_name=f"{stem}.json",
                    mime="application/json",
                    icon=":material/data_object:",
                )
        with st.popover("Methods", icon=":material/functions:"):
            # how the figures were computed, so a hand calculation can be reconciled
            st.markdown("\n".join(f"- {m}" for m in method_lines))
        if pin_json is not None:
            return False
        anonymous = identity.current().must_sign_in
        return st.button(
            "Pin this readout",
            icon=":material/push_pin:",
            key="pin_readout",
            disabled=anonymous or as_of is not None,
            help="Sign in (in the sidebar) to pin readouts on this server."
            if anonymous
            else "A pin freezes the readout of all the data as it is now: clear the as-of date "
            "to pin."
            if as_of is not None
            else "Save a frozen copy of these figures, settings and data version for the review.",
        )


def pinned(ctx: DataContext, settings: Settings, pin_id: str) -> None:
    """A frozen readout: the banner saying so, the same view, its own link and downloads."""
    try:
        pin = pins.load_pin(ctx.path, pin_id)
    except InputError as exc:
        st.error(url.plain(as_sentence(exc.message)), icon=":material/error:")
        st.page_link(
            nav.PORTFOLIO,
            label="Back to the portfolio",
            icon=":material/arrow_back:",
            query_params=url.view_query(ctx.workspace, settings),
        )
        return
    frozen = pin.analysis_settings
    e = pin.readout()
    live = url.view_query(ctx.workspace, frozen, experiment=pin.experiment, variant=pin.variant)
    found = loaders.quiet_dataset(ctx)
    changed = found is None or pin.fingerprint != found.fingerprint
    st.info(
        f"Frozen on {when(pin.created_at)} with α = {frozen.alpha:g} "
        f"and {CORRECTION_NAMES[frozen.correction]}{method_note(frozen)}; data fingerprint "
        f"`{pin.fingerprint}`. "
        + (
            "The data has changed since: the live readout may differ."
            if changed
            else "The data has not changed since."
        ),
        title="Pinned readout: these figures do not move",
        icon=":material/push_pin:",
    )
    st.button("Open the live readout", icon=":material/bolt:", on_click=nav.go_to, args=(live,))
    query = url.view_query(ctx.workspace, DEFAULT, pin=pin.id) | experiment.opened()
    st.query_params.from_dict(query)
    variant = pin.variant if pin.variant in {t.variant for t in e.treatments} else None
    t = e.treatment(variant) if variant else e.treatments[0]
    nav.tab_title(e.name, "pinned readout")
    experiment.header(e)
    experiment.verdict_cards(ctx, e, t.variant, writable=False)
    experiment.details(e, t)
    stem = f"{pin.experiment}-pin-{pin.id}"
    pin_json = json.dumps(asdict(pin), indent=2)
    share(e, pin.methods, pin.fingerprint, query, stem, pin_json=pin_json)
    storage.delete_pin_form(ctx.path, ctx.root, pin.id)


def earlier_pins(ctx: DataContext, experiment_id: str) -> None:
    """The pins of this experiment, newest first, each a button that opens it."""
    earlier = [p for p in pins.list_pins(ctx.path) if p.experiment == experiment_id]
    if not earlier:
        return
    with st.expander(
        f"Earlier pins of this experiment ({len(earlier)})", icon=":material/history:"
    ):
        for p in earlier:
            st.button(
                f"{when(p.created_at)} · {md_code(p.variant or '')} · "
                f"α = {p.analysis_settings.alpha:g}, {p.analysis_settings.correction}",
                key=f"open_pin_{p.id}",
                type="tertiary",
                icon=":material/push_pin:",
                on_click=nav.go_to,
                args=(url.view_query(ctx.workspace, DEFAULT, pin=p.id),),
            )


def pin_now(ctx: DataContext, settings: Settings, experiment_id: str, variant: str) -> None:
    """Freeze this readout as a pin and show its link."""
    try:
        owner = identity.owner_to_save()
        code, record = new_delete_code() if owner is None else (None, None)
        readout = loaders.readout(ctx, settings)
        pin = pins.pin_readout(
            ctx.path, readout, experiment_id, variant, delete_code=record, owner=owner
        )
    except (InputError, OSError) as exc:
        st.error(md_escape(f"Could not pin the readout: {exc}"), icon=":material/error:")
        return
    pinned_query = url.view_query(ctx.workspace, DEFAULT, pin=pin.id)
    st.success(
        f"Pinned as {pin.id}. This link shows the frozen figures:", icon=":material/push_pin:"
    )
    st.code(nav.app_url("readout", pinned_query), language=None)
    if code is None:
        st.caption("It is yours: the Data page lists it, and only you or an operator delete it.")
    else:
        st.caption("Its delete code, shown only this once: keep it to delete the pin.")
        st.code(code, language=None)
    st.button(
        "Open the pinned readout",
        icon=":material/push_pin:",
        on_click=nav.go_to,
        args=(pinned_query,),
    )


def pick_experiment(names: dict[str, str], requested: str | None) -> str | None:
    """The experiment picker, starting from `requested` and kept in the URL."""
    return st.selectbox(
        "Experiment",
        list(names),
        format_func=names.__getitem__,
        index=None,
        placeholder="Choose an experiment",
        width=320,
        **url.url_bound(
            "experiment", requested, clears=("variant", "segment", "bootstrap", experiment.MORE)
        ),
    )


def live(ctx: DataContext, settings: Settings, boot: int) -> None:
    """The readout of the experiment chosen in the page (or the link), as the data says now."""
    names = loaders.experiment_names(ctx)
    asked = "experiment" in st.query_params
    requested = url.choice(
        "experiment", names, f"an experiment in {ctx.name}", "pick one below or go back"
    )
    if asked and requested is None:
        st.page_link(
            nav.PORTFOLIO,
            label="Back to the portfolio",
            icon=":material/arrow_back:",
            query_params=url.view_query(ctx.workspace, settings),
        )
    span = loaders.date_span(ctx)
    day = url.day("as_of", span, "showing the readout of all the data")
    if requested is None:
        st.title("Readout", anchor=False)
        st.caption("One experiment in full: its verdict, the reasons, and every metric's lift.")
        experiment_id = pick_experiment(names, requested)
    else:
        # the picker starts from the link's experiment and writes a new one back to the URL
        # before the rerun, so the readout on view is the link's: no container has to hold its
        # header above a picker drawn first (two layout blocks less for a fresh tab)
        experiment_id = requested
    if experiment_id is None:
        st.info(
            "Choose an experiment above, or open one from the portfolio.", icon=":material/info:"
        )
        st.page_link(
            nav.PORTFOLIO,
            label="Open the portfolio",
            icon=":material/dashboard:",
            query_params=url.view_query(ctx.workspace, settings),
        )
        return
    e = loaders.experiment(ctx, settings, experiment_id)
    if day is not None:
        then = loaders.experiment_as_of(ctx, settings, experiment_id, day)
        if then is None:
            url.warn(
                f"{names[experiment_id]} had no control and treatment data up to {day}: "
                "showing the readout of all the data."
            )
            st.query_params.pop("as_of", None)
            day = None
        else:
            e = then
    treatments = [t.variant for t in e.treatments]
    requested_variant = url.choice(
        "variant",
        treatments,
        f"a treatment of experiment {experiment_id}",
        f"showing {treatments[0]}",
    )
    # the treatment on view: the first, or the one a card's "Show it below" put in the link
    variant = requested_variant or treatments[0]
    if span is not None:  # in the sidebar: a third picker in the row pushed the cards below
        # the fold at 1024 px; in a popover, whose date field a fresh tab builds only once opened
        as_of_label = f"Readout as of {day}" if day else "Readout as of: all the data"
        with st.sidebar.popover(as_of_label, icon=":material/history:", width="stretch"):
            st.date_input(
                "Readout as of",
                min_value=span[0],
                max_value=span[1],
                format="YYYY-MM-DD",
                width=170,
                help="Read the experiment out from the data up to and including this date, as "
                "the timeline's point on that day. Empty: all the data.",
                **url.url_bound("as_of", day, clears=("segment", "bootstrap")),
            )
    t = e.treatment(variant)
    nav.tab_title(e.name, "readout")
    experiment.header(e)
    # a popover, which a fresh tab builds only once opened
    with st.popover("Switch experiment", icon=":material/swap_horiz:"):
        pick_experiment(names, requested)
    if day is not None:
        st.info(as_of_sentence(day), icon=":material/history:")
    experiment.verdict_cards(ctx, e, variant)
    default = threshold_note(loaders.dataset(ctx).catalog.north_star)
    if default:
        st.caption(md_escape(default))
    experiment.details(e, t)
    resampled = None
    if day is None:
        checks.segment_section(ctx, settings, experiment_id, variant, names[experiment_id])
        resampled = checks.bootstrap_section(ctx, settings, experiment_id, variant, boot)
    else:
        st.caption(
            "The segment split and the bootstrap check read all the data: clear the as-of date "
            "to use them."
        )
    shown = (resampled or e).settings  # with the bootstrap's resamples where it was shown
    query = (
        url.view_query(
            ctx.workspace,
            settings,
            experiment=experiment_id,
            variant=variant,
            as_of=day.isoformat() if day else None,
            segment=st.query_params.get("segment"),
            bootstrap=str(shown.bootstrap) if shown.bootstrap else None,
        )
        | experiment.opened()
    )
    caption = "Copy this link into the review doc: it reopens exactly this view."
    fingerprint = loaders.dataset(ctx).fingerprint
    stem = f"{experiment_id}-readout" + (f"-as-of-{day.isoformat()}" if day else "")
    if share(e, methods(shown), fingerprint, query, stem, caption=caption, as_of=day):
        pin_now(ctx, settings, experiment_id, variant)
    earlier_pins(ctx, experiment_id)


view = frame.current()
pin_id = st.query_params.get("pin")
if pin_id is not None:
    pinned(view.data, view.settings, pin_id)
else:
    live(view.data, view.settings, view.bootstrap)
