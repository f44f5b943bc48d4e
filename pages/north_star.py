"""North Star: the metric catalog as a tree, and how often each metric moved the North Star."""

import streamlit as st

from nsexp.report import charts
from nsexp.report.movement import movement_table
from pages.ui import frame, loaders

ctx, settings = frame.current().data, frame.current().settings
view = loaders.movement(ctx, settings)
movement = view["movement"]
north_star = movement.filter(movement["role"] == "north_star").row(0, named=True)

st.title(f"North Star: {north_star['label']}", anchor=False)
st.caption(
    f"{north_star['description'] or 'The value customers get.'} Leading indicators should move "
    "it, vanity metrics are easy to move and prove little, guardrails must not get worse. Counts "
    f"are over the {north_star['comparisons']} comparisons of the {north_star['experiments']} "
    f"experiments in {ctx.name} whose data can be trusted ({view['experiments']} experiments in "
    "all)."
)
st.caption(
    "A comparison is one treatment read out against its control: an experiment with two "
    "treatments makes two comparisons."
)
st.graphviz_chart(
    charts.catalog_tree(movement),
    alt=f"Metric catalog tree with {north_star['label']} at the root",
)
st.caption(
    "Green: in the comparisons that moved this metric, the North Star moved the same way at least "
    "half the time. Orange: it moved, the North Star mostly did not follow. Grey: never moved. "
    "Red: a guardrail that got worse."
)
st.subheader("Per metric", anchor=False)
st.dataframe(
    movement_table(movement),
    hide_index=True,
    alt="How often each metric moved, and the North Star with it",
)
st.caption(
    "“Moved” means significantly different from the control after the multiple-testing "
    "correction. “North Star moved too” counts the comparisons (treatment vs control) that moved "
    "the metric where the North Star was significant as well; “North Star followed” those where "
    "both got better or both got worse."
)
