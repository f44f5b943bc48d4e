"""North Star: the metric tree with the evidence on every edge, one metric's scatter against
its parent, the North Star's health and the team scoreboard."""

import streamlit as st

from nsexp.learning.impact import ASSUMPTIONS
from nsexp.report import glossary
from nsexp.report.movement import movement_table
from nsexp.report.proxy_charts import edge_scatter
from nsexp.report.scoreboard import scoreboard_table
from nsexp.report.text import md_escape
from nsexp.report.tree import edge_reason, edges_table, label_definition
from nsexp.report.tree_chart import outside_graph, tree_graph
from nsexp.store.decisions import latest
from pages.ui import frame, loaders, nav, url

ctx, settings = frame.current().data, frame.current().settings
view = loaders.tree_view(ctx, settings)
evidence, movement = view.evidence, view.movement
catalog = evidence.catalog
ns = catalog.north_star

nav.tab_title(ns.label, "North Star")
st.title(f"North Star: {md_escape(ns.label)}", anchor=False)
about = md_escape(ns.description or "The value customers get.")
st.caption(
    f"{about} Inputs sit under the metric they should drive, with the team that owns them; "
    "each edge says whether experiments that moved the input also moved its parent, over the "
    f"trustworthy experiments in {md_escape(ctx.name)} ({view.experiments} experiments in all)."
)
st.markdown(f"**Health.** {md_escape(view.health)}")
with st.popover("What the counts mean", icon=":material/help:"):
    st.markdown(glossary.section_text())
targets = loaders.targets(ctx, settings, tuple(latest(ctx.path).values()))
if targets.height:
    st.dataframe(
        targets,
        hide_index=True,
        width="stretch",
        alt="Targets per owner team: delivered by shipped comparisons against the target",
    )
    st.caption(
        "Targets from metrics.toml, per owner team. Delivered: the comparisons decided ship "
        "between the target's dates (by recorded decision, else by recommendation), their lifts "
        "corrected for the winner's curse and compounded with a 95% interval; the Review page "
        "puts them beside the decisions due (docs/review.md)."
    )

choices = [m.id for m in catalog.ordered() if m.id != ns.id]
requested = url.choice("node", choices, "a metric under the North Star", "choose one below")
drawing = st.container()
node = st.selectbox(
    "Metric",
    choices,
    format_func=lambda m: catalog.metrics[m].label,
    index=None,
    placeholder="Choose a metric to see its experiments against its parent",
    width=420,
    **url.url_bound("node", requested),
)
with drawing:
    st.graphviz_chart(
        tree_graph(evidence, movement, node),
        width="stretch",
        alt=f"The North Star tree of {ns.label} with the evidence on every edge",
    )
    outside = outside_graph(evidence, movement, node)
    if outside is not None:
        with st.expander("Outside the tree: vanity metrics and guardrails", expanded=True):
            st.graphviz_chart(
                outside,
                width="stretch",
                alt="Metrics outside the tree, each judged against the North Star",
            )
    st.caption(
        "Arrows point to the metric an input should drive. Solid green: predictive (experiments "
        "that move it move its parent); thin grey: weak; dashed: vanity (it moves, the parent "
        "does not follow) or too few experiments to tell; dotted blue: a guardrail, labelled by "
        "whether its harm shows in the North Star (tracks the North Star, loosely tied, "
        "independent). r is the correlation of true effects with measurement noise removed, "
        "with its 95% interval."
    )

if node is not None:
    row = evidence.edge(node)
    child = catalog.metrics[node]
    parent = catalog.metrics[child.parent or ns.id]
    st.subheader(f"{md_escape(child.label)} → {md_escape(parent.label)}", anchor=False)
    if row is None:
        st.info(
            f"No trustworthy comparison measured both {md_escape(child.label)} and "
            f"{md_escape(parent.label)} yet."
        )
    else:
        st.markdown(md_escape(edge_reason(row)))
        st.altair_chart(
            edge_scatter(evidence.comparisons, row, child.label, parent.label),
            width="stretch",
            alt=f"{child.label} effect against {parent.label} effect, experiment by experiment",
        )
        st.caption(
            "One dot per treatment-versus-control comparison with 95% error bars both ways. The "
            "line has the noise-corrected slope: the parent's lift per 1% of the child's."
        )

st.subheader("Team scoreboard: outcomes over output", anchor=False)
st.dataframe(
    scoreboard_table(view.scoreboard),
    hide_index=True,
    width="stretch",
    column_config={
        "Experiments": st.column_config.TextColumn(help=glossary.help_text("experiment")),
        "Won": st.column_config.TextColumn(help=glossary.help_text("won")),
        "Vanity only": st.column_config.TextColumn(help=glossary.help_text("vanity only")),
        "Concluded with a result": st.column_config.TextColumn(
            help=glossary.help_text("concluded with a result")
        ),
        "Per win (median)": st.column_config.TextColumn(help=glossary.help_text("impact")),
        "Wins compounded": st.column_config.TextColumn(help=glossary.help_text("impact")),
    },
    alt="Per team: experiments run and what they did to the North Star",
)
st.caption(
    "Per owner in experiments.toml, experiments counted under every word one of their "
    "comparisons fits (an experiment can be both won and vanity only). Impact: the North Star "
    "lifts of the team's wins after the winner's-curse correction, the median per win and "
    f"compounded with its 95% interval, never added up. {ASSUMPTIONS}"
)
with st.expander("Every edge's evidence", icon=":material/account_tree:"):
    st.dataframe(edges_table(evidence), hide_index=True, width="stretch")
    st.caption(label_definition())
with st.expander("How often each metric moved", icon=":material/table:"):
    st.dataframe(
        movement_table(movement),
        hide_index=True,
        alt="How often each metric moved, and the North Star with it",
    )
