"""Host: the exporter's CPU, memory, load, network, disks, filesystems and process groups."""

from __future__ import annotations

from leitstand.dashboards.colors import steps_for
from leitstand.dashboards.model import (
    Json,
    Query,
    Row,
    dashboard,
    negative_y,
    query_variable,
    stat,
    timeseries,
)
from leitstand.dashboards.shared import TARGET, UIDS
from leitstand.thresholds import Thresholds

# Filesystems that are always full by design, as in the recording rules.
REAL_FILESYSTEMS = 'fstype!~"ramfs|squashfs|iso9660"'


def build(thresholds: Thresholds) -> Json:
    return dashboard(
        uid=UIDS["host"],
        title="Leitstand / Host",
        description="The host as the Leitstand exporter sees it, and the app's process groups.",
        variables=[
            query_variable("job", "Job", "label_values(node_cpu_seconds_total, job)"),
            query_variable(
                "instance",
                "Instance",
                'label_values(node_cpu_seconds_total{job=~"$job"}, instance)',
            ),
        ],
        items=[
            Row("Status"),
            stat(
                "CPU busy",
                Query(f"instance:node_cpu_utilisation:rate5m{{{TARGET}}}", "{{instance}}"),
                "percentunit",
                steps=steps_for(thresholds, "LeitstandHostHighCpu"),
                description="Share of CPU time not idle, waiting for I/O or stolen.",
            ),
            stat(
                "Memory used",
                Query(f"instance:node_memory_utilisation:ratio{{{TARGET}}}", "{{instance}}"),
                "percentunit",
                steps=steps_for(thresholds, "LeitstandHostHighMemory"),
                description="Total minus available memory, per total.",
            ),
            stat(
                "Least free filesystem",
                Query(
                    "min by (job, instance) "
                    f"(instance_mountpoint:node_filesystem_avail_bytes:ratio{{{TARGET}}})",
                    "{{instance}}",
                ),
                "percentunit",
                steps=steps_for(thresholds, "LeitstandHostLowDisk"),
                description="Free space, for unprivileged users, of the fullest filesystem.",
            ),
            stat(
                "Load per CPU",
                Query(f"instance:node_load1_per_cpu:ratio{{{TARGET}}}", "{{instance}}"),
                "short",
                decimals=2,
                description="One-minute load average per CPU; above 1 processes wait for a CPU.",
            ),
            stat(
                "CPUs",
                Query(f"instance:node_num_cpu:sum{{{TARGET}}}", "{{instance}}"),
                "short",
            ),
            stat(
                "Uptime",
                Query(f"time() - node_boot_time_seconds{{{TARGET}}}", "{{instance}}"),
                "s",
            ),
            Row("CPU and memory"),
            timeseries(
                "CPU by mode",
                [
                    Query(
                        "sum by (job, instance, mode) (rate(node_cpu_seconds_total"
                        f'{{{TARGET}, mode!="idle"}}[$__rate_interval]))'
                        " / on (job, instance) group_left ()"
                        f" instance:node_num_cpu:sum{{{TARGET}}}",
                        "{{mode}}",
                    )
                ],
                "percentunit",
                stacked=True,
                minimum=0,
                maximum=1,
                description="Share of all CPUs' time spent in each mode other than idle.",
            ),
            timeseries(
                "Load average",
                [
                    Query(f"node_load1{{{TARGET}}}", "1m"),
                    Query(f"node_load5{{{TARGET}}}", "5m"),
                    Query(f"node_load15{{{TARGET}}}", "15m"),
                    Query(f"instance:node_num_cpu:sum{{{TARGET}}}", "CPUs"),
                ],
                "short",
                minimum=0,
                description="Processes running or waiting to run (on Linux also in "
                "uninterruptible sleep), next to the number of CPUs.",
            ),
            timeseries(
                "Memory",
                [
                    Query(
                        f"node_memory_MemTotal_bytes{{{TARGET}}}"
                        f" - node_memory_MemAvailable_bytes{{{TARGET}}}",
                        "used",
                    ),
                    Query(f"node_memory_MemAvailable_bytes{{{TARGET}}}", "available"),
                    Query(f"node_memory_Cached_bytes{{{TARGET}}}", "page cache"),
                    Query(
                        f"node_memory_SwapTotal_bytes{{{TARGET}}}"
                        f" - node_memory_SwapFree_bytes{{{TARGET}}}",
                        "swap used",
                    ),
                ],
                "bytes",
                minimum=0,
            ),
            timeseries(
                "Memory used",
                [Query(f"instance:node_memory_utilisation:ratio{{{TARGET}}}", "{{instance}}")],
                "percentunit",
                steps=steps_for(thresholds, "LeitstandHostHighMemory"),
                minimum=0,
                maximum=1,
                description="The dashed line is the LeitstandHostHighMemory threshold.",
            ),
            Row("Network and disks"),
            timeseries(
                "Network traffic",
                [
                    Query(
                        f"rate(node_network_receive_bytes_total{{{TARGET}}}[$__rate_interval])",
                        "{{device}} received",
                    ),
                    Query(
                        f"rate(node_network_transmit_bytes_total{{{TARGET}}}[$__rate_interval])",
                        "{{device}} sent",
                    ),
                ],
                "Bps",
                overrides=[negative_y(".* sent")],
                description="Bytes per second per interface; sent traffic is drawn below the "
                "axis. Loopback and virtual interfaces are left out by the exporter.",
            ),
            timeseries(
                "Network errors and drops",
                [
                    Query(
                        "sum by (device) (rate(node_network_receive_errs_total"
                        f"{{{TARGET}}}[$__rate_interval]))"
                        " + sum by (device) (rate(node_network_transmit_errs_total"
                        f"{{{TARGET}}}[$__rate_interval]))",
                        "{{device}} errors",
                    ),
                    Query(
                        "sum by (device) (rate(node_network_receive_drop_total"
                        f"{{{TARGET}}}[$__rate_interval]))"
                        " + sum by (device) (rate(node_network_transmit_drop_total"
                        f"{{{TARGET}}}[$__rate_interval]))",
                        "{{device}} drops",
                    ),
                ],
                "pps",
                minimum=0,
            ),
            timeseries(
                "Disk throughput",
                [
                    Query(
                        f"rate(node_disk_read_bytes_total{{{TARGET}}}[$__rate_interval])",
                        "{{device}} read",
                    ),
                    Query(
                        f"rate(node_disk_written_bytes_total{{{TARGET}}}[$__rate_interval])",
                        "{{device}} written",
                    ),
                ],
                "Bps",
                overrides=[negative_y(".* written")],
                description="Bytes per second per disk; writes are drawn below the axis.",
            ),
            timeseries(
                "Disk busy",
                [
                    Query(
                        f"rate(node_disk_io_time_seconds_total{{{TARGET}}}[$__rate_interval])",
                        "{{device}}",
                    )
                ],
                "percentunit",
                minimum=0,
                description="Share of time each disk had I/O in progress (Linux only).",
            ),
            timeseries(
                "Filesystem free space",
                [
                    Query(
                        f"instance_mountpoint:node_filesystem_avail_bytes:ratio{{{TARGET}}}",
                        "{{mountpoint}}",
                    )
                ],
                "percentunit",
                steps=steps_for(thresholds, "LeitstandHostLowDisk"),
                minimum=0,
                maximum=1,
                description="Space available to unprivileged users per size; the dashed line "
                "is the LeitstandHostLowDisk threshold.",
            ),
            timeseries(
                "Filesystem available bytes",
                [
                    Query(
                        f"node_filesystem_avail_bytes{{{TARGET}, {REAL_FILESYSTEMS}}}",
                        "{{mountpoint}}",
                    )
                ],
                "bytes",
                minimum=0,
            ),
            Row("Process groups"),
            timeseries(
                "CPU by process group",
                [
                    Query(
                        "sum by (groupname, mode) (rate(namedprocess_namegroup_cpu_seconds_total"
                        f"{{{TARGET}}}[$__rate_interval]))",
                        "{{groupname}} {{mode}}",
                    )
                ],
                "percentunit",
                stacked=True,
                minimum=0,
                width=8,
                description="CPU time per second of each group's processes; 100 % is one "
                "CPU. The app's workers share the group of `leitstand serve` unless the "
                "exporter's --process-group says otherwise.",
            ),
            timeseries(
                "Resident memory by process group",
                [
                    Query(
                        "sum by (groupname) (namedprocess_namegroup_memory_bytes"
                        f'{{{TARGET}, memtype="resident"}})',
                        "{{groupname}}",
                    )
                ],
                "bytes",
                minimum=0,
                width=8,
            ),
            timeseries(
                "Processes, threads and open files",
                [
                    Query(
                        f"sum by (groupname) (namedprocess_namegroup_num_procs{{{TARGET}}})",
                        "{{groupname}} processes",
                    ),
                    Query(
                        f"sum by (groupname) (namedprocess_namegroup_num_threads{{{TARGET}}})",
                        "{{groupname}} threads",
                    ),
                    Query(
                        f"sum by (groupname) (namedprocess_namegroup_open_filedesc{{{TARGET}}})",
                        "{{groupname}} open files",
                    ),
                ],
                "short",
                minimum=0,
                width=8,
                description="Processes of each group, their threads and their open file "
                "descriptors (handles on Windows).",
            ),
        ],
    )
