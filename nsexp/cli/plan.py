"""`nsexp plan`: units and days needed to detect an effect on the North Star."""

from __future__ import annotations

import argparse
import json
import math

from nsexp.errors import InputError
from nsexp.stats.multiplicity import CORRECTIONS

# The plan squares the mean and the effect: inputs whose squares a float holds (docs/cli.md).
MAX_MEAN = 1e150
MAX_VARIANCE = 1e300
MAX_EFFECT = 10.0  # +1,000%
# variance / (effect x mean)^2 above this needs about 10^12 units per arm or more: no plan
MAX_NOISE_TO_EFFECT = 1e12
MAX_METRICS = 10_000  # tests in one correction family beyond which alpha / m plans nothing real
MAX_SKEWNESS = 1e4  # Kohavi's rule then asks for 3.55e10 units per arm
_FLOATS = (
    "baseline_mean",
    "baseline_variance",
    "proportion",
    "daily_units",
    "effect",
    "alpha",
    "skewness",
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """`nsexp plan`: how many days to detect a relative effect on the North Star."""
    p = sub.add_parser(
        "plan",
        help="days needed to detect an effect on the North Star",
        description="Units and days needed to detect a relative effect with the given power.",
    )
    base = p.add_mutually_exclusive_group(required=True)
    base.add_argument("--baseline-mean", type=float, help="North Star mean per unit")
    base.add_argument("--proportion", type=float, help="baseline rate of a proportion metric")
    p.add_argument(
        "--baseline-variance",
        type=float,
        help="per-unit variance; needed with --baseline-mean",
    )
    p.add_argument("--daily-units", type=float, required=True, help="units exposed per day")
    p.add_argument("--effect", type=float, required=True, help="relative effect, e.g. 0.02")
    p.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    p.add_argument(
        "--power",
        type=float,
        default=None,
        help="chance to detect the effect (default 0.8, nsexp.stats.power.POWER)",
    )
    p.add_argument("--variants", type=int, default=2, help="arms including the control (default 2)")
    p.add_argument(
        "--cuped-rho",
        type=float,
        default=0.0,
        help="correlation of the North Star with its CUPED covariate (variance x (1 - rho^2))",
    )
    p.add_argument(
        "--metrics",
        type=int,
        default=1,
        help="metrics tested in the planned metric's correction family (default 1: the North "
        "Star, which the readout corrects on its own)",
    )
    p.add_argument(
        "--correction",
        choices=CORRECTIONS,
        default="holm",
        help="the readout's multiple-testing correction (default holm, as `nsexp readout`)",
    )
    p.add_argument(
        "--skewness",
        type=float,
        default=None,
        help="skewness of a mean metric: at least 355 x skewness^2 units per arm (Kohavi)",
    )
    p.add_argument("--format", choices=("text", "json"), default="text", help="default text")
    p.set_defaults(run=run)


def _check_plan(args: argparse.Namespace) -> tuple[float, float]:
    """Validate plan arguments; return the baseline mean and variance."""
    _check_finite(args)
    if args.proportion is not None:
        if not 0 < args.proportion < 1:
            raise InputError("--proportion must be between 0 and 1", fix="e.g. --proportion 0.2")
        mean, var = args.proportion, args.proportion * (1 - args.proportion)
        treated = args.proportion * (1 + args.effect)
        if not 0 < treated < 1:
            raise InputError(
                f"--proportion {args.proportion:g} with --effect {args.effect:g} implies a "
                f"treatment rate of {treated:g}, which is not a proportion",
                fix="give a relative effect that keeps the rate between 0 and 1, e.g. "
                f"--effect {min(0.5, (1 - args.proportion) / args.proportion / 2):.2g}",
            )
    else:
        if args.baseline_variance is None or args.baseline_variance <= 0:
            raise InputError(
                "--baseline-mean needs a positive --baseline-variance",
                fix="give the per-unit sample variance of the North Star",
            )
        if args.baseline_mean == 0:
            raise InputError("--baseline-mean is 0", fix="a relative effect needs a nonzero mean")
        mean, var = args.baseline_mean, args.baseline_variance
        _check_magnitudes(mean, var)
    checks = [
        (args.daily_units > 0, "--daily-units must be positive", "e.g. --daily-units 5000"),
        (args.effect != 0, "--effect must not be 0", "e.g. --effect 0.02 for +2%"),
        (0 < args.alpha < 0.5, "--alpha must be between 0 and 0.5", "e.g. --alpha 0.05"),
        (0.5 <= args.power < 1, "--power must be between 0.5 and 1", "e.g. --power 0.8"),
        (args.variants >= 2, "--variants counts all arms and must be at least 2", "e.g. 2"),
        (-1 < args.cuped_rho < 1, "--cuped-rho must be between -1 and 1", "e.g. 0.6"),
        (
            1 <= args.metrics <= MAX_METRICS,
            f"--metrics counts the metrics tested and must be 1 to {MAX_METRICS:,}",
            "e.g. --metrics 5",
        ),
        (
            args.skewness is None or abs(args.skewness) <= MAX_SKEWNESS,
            f"--skewness must be within ±{MAX_SKEWNESS:g}",
            "e.g. --skewness 3 (scipy.stats.skew of the per-unit values)",
        ),
        (
            args.skewness is None or args.proportion is None,
            "--skewness is for mean metrics: a proportion's follows from its rate",
            "leave out --skewness, or plan with --baseline-mean and --baseline-variance",
        ),
    ]
    for ok, problem, fix in checks:
        if not ok:
            raise InputError(problem, fix=fix)
    _check_detectable(mean, var, args.effect)
    return mean, var


def _check_finite(args: argparse.Namespace) -> None:
    """Every number given is finite, and the effect a relative one (nan, inf and 1e300 answer
    no plan: they made tracebacks or "0 units per arm")."""
    for name in (*_FLOATS, "power", "cuped_rho"):
        value = getattr(args, name)
        if value is not None and not math.isfinite(value):
            option = "--" + name.replace("_", "-")
            raise InputError(
                f"{option} {value} is not a finite number", fix=f"give {option} a number"
            )
    if abs(args.effect) > MAX_EFFECT:
        raise InputError(
            f"--effect {args.effect:g} is not a relative effect a test is planned for",
            fix=f"give a relative effect of at most ±{MAX_EFFECT:g}, e.g. --effect 0.02 for +2%",
        )


def _check_magnitudes(mean: float, var: float) -> None:
    """The mean and variance are numbers a float can square (1e308 made a traceback)."""
    for option, value, size, limit in (
        ("--baseline-mean", mean, abs(mean), MAX_MEAN),
        ("--baseline-variance", var, var, MAX_VARIANCE),
    ):
        if not 1 / limit <= size <= limit:
            raise InputError(
                f"{option} {value:g} is outside ±{1 / limit:g} to ±{limit:g}, too far from 1 to "
                "square",
                fix="give the metric in other units (e.g. thousands, or per thousand)",
            )


def _check_detectable(mean: float, var: float, effect: float) -> None:
    """The effect is not too small to ever detect (1e-300 made a traceback)."""
    log_ratio = math.log10(var) - 2 * (math.log10(abs(effect)) + math.log10(abs(mean)))
    if log_ratio > math.log10(MAX_NOISE_TO_EFFECT):
        raise InputError(
            f"--effect {effect:g} is too small to detect: against a variance of {var:g} and a "
            f"mean of {mean:g} it would take about 10^{log_ratio:.0f} units per arm or more",
            fix="give a larger --effect, e.g. the smallest lift worth acting on such as 0.01",
        )


def run(args: argparse.Namespace) -> str:
    """The plan as text or JSON."""
    from nsexp.stats.power import POWER, plan, proportion_plan  # scipy loads only here

    if args.power is None:
        args.power = POWER
    mean, var = _check_plan(args)
    shared = (args.daily_units, args.effect, args.alpha, args.power, args.variants)
    family = {"metrics": args.metrics, "correction": args.correction}
    if args.proportion is not None:  # each arm its own Bernoulli variance
        result = proportion_plan(mean, *shared, args.cuped_rho**2, **family)
    else:
        skew = args.skewness or 0.0
        result = plan(mean, var, *shared, args.cuped_rho**2, skewness=skew, **family)
    if args.format == "json":
        from nsexp.report.json import SCHEMA_VERSION

        return json.dumps({"schema_version": SCHEMA_VERSION, **result._asdict()}, indent=2) + "\n"
    cuped = f" with CUPED (ρ = {args.cuped_rho:g})" if args.cuped_rho else ""
    floor = (
        f" (the readout needs {result.minimum_units} units per arm to decide)"
        if result.minimum_units
        else ""
    )
    if result.skewness_units:
        floor += (
            f" (at skewness {args.skewness:g} Kohavi's rule of 355·s² needs "
            f"{result.skewness_units:,} units per arm)"
        )
    tests = (args.variants - 1) * args.metrics
    how = (
        "no correction: α"
        if args.correction == "none"
        else f"{args.correction}, at worst α/{tests}"
    )
    return (
        f"To detect {args.effect * 100:+g}% with {args.power * 100:g}% power at α = "
        f"{args.alpha:g}{cuped} ({args.variants - 1} comparison(s) x {args.metrics} metric(s); "
        f"{how} = {result.alpha_per_comparison:.3g} each): {result.units_per_arm:,} units "
        f"per arm, {result.total_units:,} in all{floor} — {result.days} days at "
        f"{args.daily_units:,.0f} units a day.\n"
    )
