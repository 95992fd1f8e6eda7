"""AWX objects and jobs of every kind through AWX's own event path, in this (the tests') process.

A job runs as AWX's task runs it: ``create_unified_job()``, status running, ``create_partition()``
(BaseTask.pre_run_hook), then ansible-runner with AWX's ``RunnerCallback*`` handlers, whose
``CallbackQueueDispatcher`` RPUSHes each event to Redis ``callback_tasks``; AWX's running callback
receiver writes the rows and sends the websocket messages. Only receptor and the execution
environment container are replaced: ansible-runner runs ansible-core from the tier's own venv
here. A system job runs through AWX's own ``RunSystemJob`` task, which runs locally in AWX too.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import ansible_runner
from awx.main.models import (
    AdHocCommand,
    Host,
    Inventory,
    InventorySource,
    Job,
    Organization,
    Project,
    SystemJob,
    SystemJobTemplate,
    UnifiedJob,
)
from awx.main.models import JobTemplate as AwxJobTemplate
from awx.main.queue import CallbackQueueDispatcher
from awx.main.tasks.callback import (
    RunnerCallback,
    RunnerCallbackForAdHocCommand,
    RunnerCallbackForInventoryUpdate,
    RunnerCallbackForProjectUpdate,
)
from awx.main.tasks.jobs import RunSystemJob
from awx.main.utils.common import create_partition
from awx.main.utils.update_model import update_model
from django.conf import settings
from django.contrib.auth.models import User
from django.utils.timezone import now

ANSIBLE_BIN = Path(os.environ["AWX_TIER_ANSIBLE_BIN"])
PROJECT_DIR = "tierproj"
PLAYBOOK = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: ping
      ping:
    - name: many items
      debug:
        msg: "item {{ item }}"
      loop: "{{ range(0, item_count | int) | list }}"
    - name: a changed task
      command: /bin/true
"""
HOSTS = ("h1", "h2", "h3")
PASSWORDS = {"admin": "Admin-pw-1", "alice": "Alice-pw-1", "auditor": "Auditor-pw-1"}

CALLBACKS = {
    "job": RunnerCallback,
    "ad_hoc_command": RunnerCallbackForAdHocCommand,
    "project_update": RunnerCallbackForProjectUpdate,
    "inventory_update": RunnerCallbackForInventoryUpdate,
}


def kind_of(job: UnifiedJob) -> str:
    """The job's kind as the app names it: its event table's job reference without ``_id``."""
    return job.event_class.JOB_REFERENCE.removesuffix("_id")


def create_objects() -> None:
    """An organization, an inventory of local hosts, a manual project with the playbook, a job
    template, an inventory source, and three users: a superuser, a plain organization member and
    a system auditor."""
    project_dir = Path(settings.PROJECTS_ROOT) / PROJECT_DIR
    project_dir.mkdir(parents=True, exist_ok=True)
    (project_dir / "site.yml").write_text(PLAYBOOK)
    (project_dir / "inventory.ini").write_text(
        "[web]\nh1 ansible_connection=local\nh2 ansible_connection=local\n"
    )
    org = Organization.objects.create(name="TierOrg")
    inventory = Inventory.objects.create(name="TierInv", organization=org)
    for name in HOSTS:
        Host.objects.create(
            name=name, inventory=inventory, variables=json.dumps({"ansible_connection": "local"})
        )
    project = Project.objects.create(name="TierProj", organization=org, scm_type="", local_path=PROJECT_DIR)
    AwxJobTemplate.objects.create(
        name="TierJT", project=project, inventory=inventory, playbook="site.yml", organization=org
    )
    InventorySource.objects.create(
        name="TierSrc", inventory=inventory, source="scm", source_project=project, source_path="inventory.ini"
    )
    User.objects.create_superuser("admin", "admin@example.invalid", PASSWORDS["admin"])
    alice = User.objects.create_user("alice", "alice@example.invalid", PASSWORDS["alice"])
    org.member_role.members.add(alice)
    auditor = User.objects.create_user("auditor", "auditor@example.invalid", PASSWORDS["auditor"])
    auditor.is_system_auditor = True  # AWX's property: puts the user in the system auditor role
    auditor.save()


def new_job() -> UnifiedJob:
    """A playbook job, created but not run yet (to join its websocket group before it runs)."""
    return AwxJobTemplate.objects.get(name="TierJT").create_unified_job()


def running_job(execution_node: str = "") -> Job:
    """A playbook job marked running and started on ``execution_node``, its event partition made
    (as AWX's task does before it runs): when it finishes, AWX's save computes its ``elapsed``."""
    job = update_model(Job, new_job().pk, status="running", started=now(), execution_node=execution_node)
    create_partition(job.event_class._meta.db_table, start=job.created)
    return job


def dispatch(
    job: Job, count: int, created_ago: float | Callable[[int], float] = 0.0, stamped: int | None = None
) -> Job:
    """``count`` verbose events of ``job`` through AWX's CallbackQueueDispatcher, as the
    controller's runner callback sends them, the first ``stamped`` (all by default) with a
    ``created`` ``created_ago`` seconds early (or ``created_ago(counter)``) and the others with
    none; the job finished."""
    early = created_ago if callable(created_ago) else lambda counter: created_ago
    dispatcher = CallbackQueueDispatcher()
    stamped = count if stamped is None else stamped
    for counter in range(1, count + 1):
        event = {
            "event": "verbose",
            "job_id": job.id,
            "job_created": str(job.created),
            "counter": counter,
            "uuid": str(uuid.uuid4()),
            "stdout": f"line {counter}",
            "start_line": counter - 1,
            "end_line": counter,
            "verbosity": 0,
            "event_data": {},
        }
        if counter <= stamped:
            event["created"] = (now() - timedelta(seconds=early(counter))).isoformat()
        dispatcher.dispatch(event)
    return update_model(Job, job.pk, status="successful", finished=now(), emitted_events=count)


def create(kind: str) -> UnifiedJob:
    inventory = Inventory.objects.get(name="TierInv")
    if kind == "job":
        return new_job()
    if kind == "ad_hoc_command":
        admin = User.objects.get(username="admin")
        return AdHocCommand.objects.create(
            inventory=inventory, module_name="ping", limit="all", created_by=admin
        )
    if kind == "project_update":
        return Project.objects.get(name="TierProj").create_project_update()
    if kind == "inventory_update":
        return InventorySource.objects.get(name="TierSrc").create_inventory_update()
    raise ValueError(kind)


def run(job: UnifiedJob, items: int = 50) -> UnifiedJob:
    """Runs ``job`` (from ``create`` or ``new_job``) and returns it, finished, with its
    ``emitted_events``. Its events are then on their way through AWX's callback receiver."""
    job = job.get_real_instance()
    kind = kind_of(job)
    model = type(job)
    job = update_model(model, job.pk, status="running", start_args="")
    create_partition(job.event_class._meta.db_table, start=job.created)
    callback = CALLBACKS[kind](model=model)
    callback.instance = job
    callback.job_created = str(job.created)
    inventory = Inventory.objects.get(name="TierInv")
    callback.host_map = {host.name: host.id for host in Host.objects.filter(inventory=inventory)}

    private = Path(settings.AWX_ISOLATION_BASE_PATH) / f"pdd_{job.id}"
    shutil.rmtree(private, ignore_errors=True)
    (private / "inventory").mkdir(parents=True)
    (private / "env").mkdir()
    python = ANSIBLE_BIN / "python"
    hosts = "".join(
        f"{name} ansible_connection=local ansible_python_interpreter={python}\n" for name in HOSTS
    )
    (private / "inventory" / "hosts").write_text("[all]\n" + hosts)
    shutil.copytree(Path(settings.PROJECTS_ROOT) / PROJECT_DIR, private / "project")
    env = {"PATH": f"{ANSIBLE_BIN}:/usr/bin:/bin", "ANSIBLE_HOST_KEY_CHECKING": "False"}
    # The id variables AWX's build_env sets; ansible-runner's callback copies them into each event.
    env.update(
        {
            "job": {"JOB_ID": str(job.pk), "INVENTORY_ID": str(inventory.pk)},
            "ad_hoc_command": {"AD_HOC_COMMAND_ID": str(job.pk), "INVENTORY_ID": str(inventory.pk)},
            "project_update": {"PROJECT_UPDATE_ID": str(job.pk)},
            "inventory_update": {
                "INVENTORY_UPDATE_ID": str(job.pk),
                "INVENTORY_SOURCE_ID": str(job.inventory_source_id if kind == "inventory_update" else ""),
            },
        }[kind]
    )
    common = dict(
        private_data_dir=str(private),
        ident=str(job.id),
        event_handler=callback.event_handler,
        finished_callback=callback.finished_callback,
        status_handler=callback.status_handler,
        envvars=env,
    )
    quiet = dict(quiet=True, suppress_env_files=True)
    inventory_file = str(private / "inventory" / "hosts")
    if kind in ("job", "project_update"):
        result = ansible_runner.interface.run(
            playbook="site.yml", inventory=inventory_file, extravars={"item_count": items}, **quiet, **common
        )
    elif kind == "ad_hoc_command":
        result = ansible_runner.interface.run(
            module="ping", host_pattern="all", inventory=inventory_file, **quiet, **common
        )
    else:  # AWX runs ansible-inventory for an inventory update; its output lines become 'verbose' events
        result = ansible_runner.interface.run_command(
            executable_cmd=str(ANSIBLE_BIN / "ansible-inventory"),
            cmdline_args=["-i", str(private / "project" / "inventory.ini"), "--list", "-vvv"],
            input_fd=None,
            output_fd=None,
            error_fd=None,
            runner_mode="subprocess",
            **common,
        )
    status = "successful" if isinstance(result, tuple) or result.status == "successful" else "failed"
    columns = {field.name for field in model._meta.concrete_fields}
    fields = {name: value for name, value in callback.get_delayed_update_fields().items() if name in columns}
    return update_model(model, job.pk, status=status, finished=now(), **fields)


def run_system_job() -> SystemJob:
    """A cleanup_jobs dry run through AWX's own RunSystemJob, called here instead of through
    AWX's dispatcher."""
    template = SystemJobTemplate.objects.get(job_type="cleanup_jobs")
    job = template.create_unified_job(extra_vars=json.dumps({"days": 90, "dry_run": True}))
    update_model(SystemJob, job.pk, status="waiting")
    RunSystemJob().run(job.pk)
    job.refresh_from_db()
    return job


def wait_for_events(job: UnifiedJob, timeout: float = 90) -> int:
    """Waits until AWX's callback receiver has written every event the job emitted; their count."""
    rows = job.event_class.objects.filter(**{job.event_class.JOB_REFERENCE: job.id})
    deadline = time.monotonic() + timeout
    while (written := rows.count()) < job.emitted_events:
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{kind_of(job)} {job.id}: {written} of {job.emitted_events} events written after {timeout} s"
            )
        time.sleep(0.5)
    return written
