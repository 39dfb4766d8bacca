"""Plotly figures for the studio. Pure functions of plain data, so they are easy to test."""

from collections import Counter

import plotly.graph_objects as go

CALM = dict(
    template="plotly_white",
    margin=dict(l=50, r=20, t=40, b=40),
    font=dict(size=12),
    legend=dict(orientation="h", y=1.12, x=0),
)


def smooth(values: list[float], weight: float = 0.8) -> list[float]:
    """Exponential moving average with bias correction (TensorBoard-style)."""
    out, avg = [], 0.0
    for i, v in enumerate(values, start=1):
        avg = weight * avg + (1 - weight) * v
        out.append(avg / (1 - weight**i))
    return out


def loss_figure(
    loss: list[tuple[int, float]],
    eval_loss: list[tuple[int, float]] | None = None,
    title: str = "Training loss (from MLflow)",
    reward: list[tuple[int, float]] | None = None,
) -> go.Figure:
    """The supervised loss (and eval loss); after it, the reinforcement phase's mean reward on an axis of its own
    (0 to 1, on the right), its steps numbered after the supervised ones."""
    fig = go.Figure()
    if loss:
        steps, values = zip(*loss, strict=True)
        fig.add_scatter(
            x=steps,
            y=values,
            mode="lines+markers",
            name="loss",
            line=dict(color="#9db4d9", width=1),
            marker=dict(size=4),
        )
        fig.add_scatter(
            x=steps,
            y=smooth(list(values)),
            mode="lines",
            name="smoothed",
            line=dict(color="#1f4e9c", width=3),
        )
    if eval_loss:
        steps, values = zip(*eval_loss, strict=True)
        fig.add_scatter(
            x=steps, y=values, mode="lines+markers", name="eval loss", line=dict(color="#d9822b", width=2)
        )
    if reward:
        steps, values = zip(*reward, strict=True)
        fig.add_scatter(
            x=steps,
            y=values,
            mode="lines+markers",
            name="mean reward (GRPO)",
            yaxis="y2",
            line=dict(color="#4c956c", width=2),
            marker=dict(size=4),
        )
        fig.update_layout(
            yaxis2=dict(title="reward", overlaying="y", side="right", range=[0, 1.05], showgrid=False)
        )
    fig.update_layout(title=title, xaxis_title="step", yaxis_title="loss", height=340, **CALM)
    if not loss:
        fig.add_annotation(
            text="The chart fills in as soon as the first step is logged",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=0.5,
            font=dict(color="#888"),
        )
    return fig


def lr_figure(points: list[tuple[int, float]]) -> go.Figure:
    fig = go.Figure()
    if points:
        steps, values = zip(*points, strict=True)
        fig.add_scatter(
            x=steps, y=values, mode="lines", name="learning rate", line=dict(color="#4c956c", width=2)
        )
    fig.update_layout(title="Learning rate", xaxis_title="step", height=200, showlegend=False, **CALM)
    return fig


def overlay_figure(curves: dict[str, list[tuple[int, float]]]) -> go.Figure:
    fig = go.Figure()
    for name, points in curves.items():
        if points:
            steps, values = zip(*points, strict=True)
            fig.add_scatter(x=steps, y=smooth(list(values), 0.6), mode="lines", name=name)
    fig.update_layout(
        title="Loss curves (smoothed)", xaxis_title="step", yaxis_title="loss", height=380, **CALM
    )
    return fig


def token_histogram(lengths: list[int], max_seq_length: int) -> go.Figure:
    fig = go.Figure()
    if lengths:
        # binned here: 100,000 raw values would travel to the browser with every update
        lo, hi = min(lengths), max(lengths)
        width = max(1, -(-(hi - lo + 1) // 40))
        counts = Counter((n - lo) // width for n in lengths)
        fig.add_bar(
            x=[lo + (b + 0.5) * width for b in sorted(counts)],
            y=[counts[b] for b in sorted(counts)],
            width=width,
            marker_color="#1f4e9c",
            name="rows",
        )
        fig.add_vline(
            x=max_seq_length,
            line=dict(color="#c0392b", dash="dash"),
            annotation_text=f"max sequence length {max_seq_length}",
            annotation_position="top left",
        )
    fig.update_layout(
        title="Tokens per row",
        xaxis_title="tokens (prompt + answer)",
        yaxis_title="rows",
        height=280,
        showlegend=False,
        **CALM,
    )
    return fig


def category_figure(summaries: dict[str, dict]) -> go.Figure:
    """Grouped bars: how many rows fell in each outcome category, per model."""
    fig = go.Figure()
    colours = {"base": "#9aa5b1", "base_prompt": "#c8ced6", "adapter": "#1f4e9c"}
    names = {
        "base": "base with schema",
        "base_prompt": "base with the adapter's prompt",
        "adapter": "fine-tuned",
    }
    for name, summary in summaries.items():
        cats = summary["categories"]
        fig.add_bar(
            x=list(cats), y=list(cats.values()), name=names.get(name, name), marker_color=colours.get(name)
        )
    fig.update_layout(
        title="Outcome per held-out question", barmode="group", yaxis_title="rows", height=320, **CALM
    )
    return fig


def sweep_figure(rows: list[dict]) -> go.Figure | None:
    """Execution accuracy of each run of a sweep against what it changed (the best marked); None before any run
    has an accuracy."""
    scored = [r for r in rows if r["adapter"] is not None]
    if not scored:
        return None
    scored.sort(key=lambda r: sorted(r["settings"].items()))
    labels = [" ".join(f"{k}={v}" for k, v in r["settings"].items()) or r["run"] for r in scored]
    fig = go.Figure()
    fig.add_bar(
        x=labels,
        y=[r["adapter"] for r in scored],
        name="fine-tuned",
        marker_color=["#1f4e9c" if r["best"] else "#9db4d9" for r in scored],
        text=["best" if r["best"] else "" for r in scored],
        textposition="outside",
    )
    fig.add_scatter(
        x=labels,
        y=[r["base"] for r in scored],
        mode="markers",
        name="base with schema",
        marker=dict(color="#9aa5b1", size=10, symbol="line-ew-open"),
    )
    fig.update_layout(
        title="Execution accuracy against the swept settings",
        yaxis_title="execution accuracy",
        yaxis_tickformat=".0%",
        yaxis_range=[0, 1.05],  # an accuracy: 0 to 100%, even when every run scored 0
        height=340,
        **CALM,
    )
    return fig


def checkpoint_figure(scores: list[dict], best_step: int) -> go.Figure:
    """Execution accuracy of each checkpoint by step (as generated and schema-checked), the best step marked."""
    steps = [s["step"] for s in scores]
    fig = go.Figure()
    fig.add_scatter(
        x=steps, y=[s["exec_accuracy"] for s in scores], mode="lines+markers", name="as generated"
    )
    fig.add_scatter(
        x=steps,
        y=[s["exec_accuracy_checked"] for s in scores],
        mode="lines+markers",
        name="schema-checked",
        line=dict(dash="dot"),
    )
    fig.add_vline(x=best_step, line=dict(color="#1f4e9c", dash="dash"), annotation_text="best")
    fig.update_layout(
        xaxis_title="step",
        yaxis_title="execution accuracy",
        yaxis_tickformat=".0%",
        yaxis_range=[0, 1.05],
        height=300,
        **CALM,
    )
    return fig
