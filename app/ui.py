"""Assemble the studio: header, four numbered tabs, and the wiring between them."""

import gradio as gr

from app import (
    adapter_panel,
    checkpoint_panel,
    data_tab,
    db_panel,
    eval_tab,
    generate_panel,
    playground,
    preview_tab,
    queue_panel,
    runs_tab,
    train_form,
    train_plan,
    train_tab,
)
from app.common import Dataset

HEADER = """<div class="studio-header"><h1>SQL Tune Studio</h1>
<p>Teach a code model to write SQL for <b>your</b> database: load question/SQL pairs and your schema, check them,
see exactly what the model learns, train a LoRA adapter, and compare runs. Every run is tracked in MLflow.</p></div>"""


def build_app() -> gr.Blocks:
    with gr.Blocks(title="SQL Tune Studio") as demo:
        gr.HTML(HEADER)
        dataset = gr.State(Dataset())
        with gr.Tabs() as tabs:
            with gr.Tab("1. Data", id="data"):
                c = db_panel.build_connect_box()
                d = data_tab.build_data_tab()
                g = generate_panel.build_generate_box()
            d.update(c)
            d.update(g)
            with gr.Tab("2. Preview", id="preview"):
                p = preview_tab.build_preview_tab()
            with gr.Tab("3. Train", id="train"):
                t = train_tab.build_train_tab()
                q = queue_panel.build_queue_panel()
            with gr.Tab("4. Runs", id="runs") as runs_page:
                r = runs_tab.build_runs_tab()
                r.update(checkpoint_panel.build_checkpoint_panel())
                r.update(adapter_panel.build_adapter_panel())
            with gr.Tab("5. Evaluate", id="evaluate") as eval_page:
                e = eval_tab.build_eval_tab()
                e.update(playground.build_playground())
        wire_data(d, p, t, dataset)
        wire_database(d, p, t, dataset)
        wire_train(d, p, t, dataset)
        wire_runs(r, t, p, tabs)
        queue_panel.wire_queue(q, d, p, t, dataset)
        checkpoint_panel.wire_checkpoints(r)
        t["to_evaluate"].click(lambda: gr.Tabs(selected="evaluate"), None, tabs)
        wire_eval(e, dataset)
        # Results come to the person: opening a tab shows what is there, without pressing Refresh.
        runs_page.select(
            runs_tab.refresh_runs, r["experiment"], [r["message"], r["table"], r["compare"], r["open_run"]]
        )
        eval_page.select(eval_tab.finished_runs, None, [e["run"], e["message"]])
        # A reload (or a second tab) shows the running job whole: its settings, its data and database, its plan.
        form = [
            *[t[f] for f in train_form.FIELDS],
            p["template"],
            dataset,
            d["message"],
            d["summary"],
            d["connection"],
            d["db_message"],
            d["schema_panel"],
            d["inferred_keys"],
            d["schema_box"],
            d["dialect"],
            tabs,
        ]
        demo.load(show_running_job, None, form).then(
            lambda *a: train_plan.plan_for(*a)[0],
            [dataset, d["exclude"], *[t[f] for f in train_form.PLAN_FIELDS]],
            t["plan"],
        )
    return demo


def show_running_job():
    """On page load: when a job is training, every tab shows it (not the defaults), and the page opens on its Train
    tab (where its progress is)."""
    cfg, job_id = train_tab.running_job()
    if cfg is None:
        return (gr.skip(),) * (len(train_form.FIELDS) + 11)
    return (
        *train_form.form_values(cfg),
        *data_tab.restore(cfg, job_id),
        *db_panel.restore(cfg.database),
        gr.Tabs(selected="train"),
    )


def wire_eval(e, dataset):
    e["refresh_btn"].click(eval_tab.finished_runs, None, [e["run"], e["message"]], api_name="finished_runs")
    e["run"].change(
        eval_tab.show_logged, e["run"], [e["message"], e["headline"], e["chart"], e["table"], e["report"]]
    )
    db = [e["db_kind"], e["db_file"], e["pg_url"]]
    e["eval_btn"].click(
        eval_tab.run_evaluation,
        [e["run"], *db, e["include_base"], e["candidates"]],
        [e["message"], e["headline"], e["chart"], e["table"], e["report"]],
        api_name="evaluate",
        concurrency_limit=1,
        concurrency_id="generate",
    )
    e["filter"].change(eval_tab.table_rows, [e["report"], e["filter"]], e["table"])
    e["pick"].change(
        eval_tab.inspect_row, [e["report"], e["pick"]], [e["gold_rows"], e["base_rows"], e["adapter_rows"]]
    )
    playground.wire_playground(e, dataset, db)


def wire_data(d, p, t, dataset):
    settings = [d["dialect"], t["model"], t["max_seq_length"], p["template"], d["exclude"]]
    shown = [dataset, d["message"], d["summary"], d["findings"], d["histogram"]]
    preview_in = [dataset, p["row"], p["template"], t["model"], t["max_seq_length"], t["schema_in_prompt"]]
    mode = t["schema_in_prompt"]
    preview_out = [p["rendered"], p["info"], p["template"]]
    plan_in = [dataset, d["exclude"], *[t[f] for f in train_form.PLAN_FIELDS]]

    def plan(*args):
        return train_plan.plan_for(*args)[0]

    fit = [d["connection"], dataset, d["only_used"], t["model"], t["max_seq_length"]]

    def after_load(event):
        event.then(preview_tab.render_preview, preview_in, preview_out).then(plan, plan_in, t["plan"]).then(
            lambda *a: db_panel.on_fit(*a)[1], fit, d["schema_fit"]
        )  # the offer depends on the tables the pairs use

    conn = d["connection"]
    connected = [conn, d["db_message"], d["schema_panel"], d["inferred_keys"], d["schema_box"], d["dialect"]]
    after_load(
        d["data_file"].upload(
            data_tab.on_upload,
            [d["data_file"], d["schema_box"], *settings, dataset, conn, mode],
            shown,
            api_name="upload",
        )
    )
    after_load(
        d["sample_btn"]
        .click(db_panel.on_sample_db, conn, connected)
        .then(
            data_tab.on_sample,
            [*settings, dataset, conn, mode],
            [d["schema_box"], *shown],
            api_name="use_sample",
        )
    )
    after_load(
        d["validate_btn"].click(
            data_tab.on_revalidate,
            [d["schema_box"], *settings, dataset, conn, mode],
            shown,
            api_name="validate",
        )
    )
    after_load(
        d["dialect"].input(data_tab.on_revalidate, [d["schema_box"], *settings, dataset, conn, mode], shown)
    )
    after_load(mode.change(data_tab.on_revalidate, [d["schema_box"], *settings, dataset, conn, mode], shown))
    d["schema_file"].upload(data_tab.on_schema_file, d["schema_file"], [d["schema_box"], d["message"]]).then(
        data_tab.on_revalidate, [d["schema_box"], *settings, dataset, conn, mode], shown
    )
    d["exclude"].change(data_tab.summary_html, [dataset, d["exclude"]], d["summary"]).then(
        plan, plan_in, t["plan"]
    )

    for event in (p["row"].submit, p["template"].input, t["model"].change):
        event(preview_tab.render_preview, preview_in, preview_out)
    p["next_btn"].click(lambda ds, row: preview_tab.step_row(ds, row, 1), [dataset, p["row"]], p["row"]).then(
        preview_tab.render_preview, preview_in, preview_out
    )
    p["prev_btn"].click(
        lambda ds, row: preview_tab.step_row(ds, row, -1), [dataset, p["row"]], p["row"]
    ).then(preview_tab.render_preview, preview_in, preview_out)
    p["random_btn"].click(preview_tab.random_row, dataset, p["row"]).then(
        preview_tab.render_preview, preview_in, preview_out
    )
    for field in train_form.PLAN_FIELDS:
        t[field].change(plan, plan_in, t["plan"])


def wire_database(d, p, t, dataset):
    """Connect, the schema panel, and the pairs generated from the database."""
    settings = [d["dialect"], t["model"], t["max_seq_length"], p["template"], d["exclude"]]
    shown = [dataset, d["message"], d["summary"], d["findings"], d["histogram"]]
    conn = d["connection"]
    connected = [conn, d["db_message"], d["schema_panel"], d["inferred_keys"], d["schema_box"], d["dialect"]]
    fit = [conn, dataset, d["only_used"], t["model"], t["max_seq_length"]]
    # The Train tab's schema mode too: after connecting, token counts and the preview follow it, as training will.
    mode = t["schema_in_prompt"]
    revalidate_in = [d["schema_box"], *settings, dataset, conn, mode]
    preview_in = [dataset, p["row"], p["template"], t["model"], t["max_seq_length"], mode]
    plan_in = [dataset, d["exclude"], *[t[f] for f in train_form.PLAN_FIELDS]]

    def recheck(event):
        return (
            event.then(db_panel.on_fit, fit, [d["schema_box"], d["schema_fit"]])
            .then(data_tab.on_revalidate, revalidate_in, shown)
            .then(preview_tab.render_preview, preview_in, [p["rendered"], p["info"], p["template"]])
            .then(lambda *a: train_plan.plan_for(*a)[0], plan_in, t["plan"])
        )

    recheck(
        d["connect_btn"]
        .click(db_panel.on_password, [d["db_url"], d["db_password"]], [d["db_url"], d["db_password"]])
        .then(
            db_panel.on_connect,
            [d["db_files"], d["db_url"], conn, d["db_password"]],
            connected,
            api_name="connect",
        )
    )
    recheck(
        d["db_files"].upload(
            db_panel.on_db_upload,
            [d["db_files"], conn],
            [*connected, d["db_files"]],
            api_name="connect_upload",
        )
    )
    recheck(d["sample_db_btn"].click(db_panel.on_sample_db, conn, connected, api_name="connect_sample"))
    d["inferred_keys"].input(db_panel.on_keys, [conn, d["inferred_keys"]], [conn, d["schema_panel"]])
    d["only_used"].input(db_panel.on_only_used, fit, [d["schema_box"], d["schema_fit"]]).then(
        data_tab.on_revalidate, revalidate_in, shown
    )

    generated = [d["generated"], d["gen_message"], d["gen_table"], d["gen_filter"], d["gen_download"]]
    d["gen_btn"].click(
        generate_panel.on_generate,
        [conn, d["gen_n"], d["gen_seed"], d["dialect"]],
        generated,
        api_name="generate",
        concurrency_limit=1,
    )
    d["gen_filter"].change(generate_panel.table_rows, [d["generated"], d["gen_filter"]], d["gen_table"])
    d["gen_remove_btn"].click(
        generate_panel.on_remove,
        [d["generated"], d["gen_remove"], d["gen_filter"]],
        [d["generated"], d["gen_message"], d["gen_table"], d["gen_download"], d["gen_remove"]],
    )
    d["gen_pick"].change(generate_panel.on_pick, [conn, d["generated"], d["gen_pick"]], d["gen_result"])
    recheck(
        d["gen_add_btn"].click(
            generate_panel.on_add,
            [dataset, d["generated"], conn],
            [dataset, d["gen_message"]],
            api_name="add_generated",
        )
    )


def wire_train(d, p, t, dataset):
    settings = [t[f] for f in train_form.SETTING_FIELDS]
    t["model"].input(train_form.settings_for_model, t["model"], [*settings, t["defaults_note"]])
    t["recipe_btn"].click(train_form.recipe_settings, t["evaluate_after"], [*settings, t["defaults_note"]])
    t["suggest_btn"].click(
        lambda *a: train_plan.plan_for(*a)[1],
        [dataset, d["exclude"], *[t[f] for f in train_form.PLAN_FIELDS]],
        t["max_steps"],
    )
    t["command_btn"].click(
        train_tab.show_command,
        [dataset, d["exclude"], p["template"], *[t[f] for f in train_form.FIELDS]],
        [t["command"], t["problems"]],
    )
    t["start_btn"].click(
        train_tab.start_training,
        [dataset, d["exclude"], p["template"], *[t[f] for f in train_form.FIELDS]],
        [t["problems"], t["status"]],
        api_name="start",
        concurrency_limit=1,
    )
    t["stop_btn"].click(train_tab.stop_training, None, t["problems"], api_name="stop", queue=False)
    t["resume_btn"].click(
        train_tab.resume_training, None, t["problems"], api_name="resume", concurrency_limit=1
    )
    live = [
        t["status"],
        t["progress"],
        t["loss_plot"],
        t["lr_plot"],
        t["mlflow_link"],
        t["outcome"],
        t["download"],
        t["log"],
        t["stop_btn"],
        t["resume_btn"],
        t["to_evaluate"],
        t["start_btn"],
        t["last_view"],
    ]
    t["timer"].tick(train_tab.tick, t["last_view"], live, show_progress="hidden", api_visibility="private")
    # A run that ended taught the estimate this machine's speed (data/speed.json): the plan line says it at once.
    t["outcome"].change(
        lambda *a: train_plan.plan_for(*a)[0],
        [dataset, d["exclude"], *[t[f] for f in train_form.PLAN_FIELDS]],
        t["plan"],
        show_progress="hidden",
    )
    gr.api(live_view, api_name="live")


def live_view() -> dict:
    """The data the loss chart is drawn from (MLflow's metric history) and the training job's state: the API view
    of the Train tab, for scripts and tests (`Client(url).predict(api_name="/live")`)."""
    snap = _snap()
    return {**train_tab.chart_data(snap["mlflow_run_id"]), "snapshot": _public(snap)}


def _snap() -> dict:
    return train_tab.get_engine().snapshot()


def _public(snap: dict) -> dict:
    return {k: v for k, v in snap.items() if k != "log_lines"}


def wire_runs(r, t, p, tabs):
    r["refresh_btn"].click(
        runs_tab.refresh_runs,
        r["experiment"],
        [r["message"], r["table"], r["compare"], r["open_run"]],
        api_name="runs",
    )
    r["compare"].change(runs_tab.overlay_runs, r["compare"], r["overlay"])
    r["open_run"].change(runs_tab.open_run, r["open_run"], [r["params"], r["samples"]])
    targets = [t[f] for f in train_form.FIELDS] + [p["template"]]

    def clone(run_id):
        values = runs_tab.clone_settings(run_id)
        if not values:
            return (gr.skip(),) * len(targets) + (gr.skip(),)
        return (*[values[f] for f in train_form.FIELDS], values["system_template"], gr.Tabs(selected="train"))

    r["clone_btn"].click(clone, r["open_run"], [*targets, tabs])

    listed = [r["versions"], r["version_pick"]]
    r["refresh_btn"].click(adapter_panel.refresh_versions, None, listed)
    r["versions_btn"].click(adapter_panel.refresh_versions, None, listed, api_name="versions")
    r["register_btn"].click(
        adapter_panel.register,
        [r["open_run"], r["reg_name"], r["reg_champion"]],
        [r["reg_message"], *listed],
        api_name="register",
    )
    r["champion_btn"].click(
        adapter_panel.mark_champion, r["version_pick"], [r["reg_message"], *listed], api_name="mark_champion"
    )
    # The export runs in its own thread; the handler returns at once and the timer shows progress.
    export_out = [r["export_status"], r["export_file"], r["export_timer"]]
    r["export_btn"].click(
        adapter_panel.start_export,
        [r["open_run"], r["export_format"], r["export_name"], r["gguf_type"]],
        export_out,
        api_name="export",
    )
    r["export_timer"].tick(
        adapter_panel.export_tick, None, export_out, show_progress="hidden", api_visibility="private"
    )
