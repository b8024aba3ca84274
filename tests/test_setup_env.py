"""tools/setup_env.sh keeps pip's and the compiler's output in a log file and shows it when a
step fails. Its ``step`` function runs here on stand-in commands (the real steps build mmcv
for 25 minutes)."""
import subprocess

from conftest import REPO_ROOT

COMPILER_OUTPUT = 'for i in $(seq 1 300); do echo "[$i/300] c++ -c file_$i.cpp"; echo "warning: unused $i" >&2; done'


def run_steps(log, *steps):
    """Runs ``step DESCRIPTION bash -c COMMAND`` for each (description, command) of ``steps``
    with the script's functions and shell options; returns the CompletedProcess."""
    calls = ' && '.join(f'step {description!r} bash -c {command!r}' for description, command in steps)
    script = f'source tools/setup_env.sh && set -euo pipefail && LOG={log} && {calls}'
    return subprocess.run(['bash', '-c', script], cwd=REPO_ROOT, capture_output=True, text=True)


def test_setup_step_sends_the_output_to_the_log_and_prints_one_line(tmp_path):
    log = tmp_path / 'setup.log'
    result = run_steps(log, ('building mmcv', COMPILER_OUTPUT), ('installing the rest', 'echo collected'))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ''
    assert [line.split(': done in ')[0] for line in result.stdout.splitlines()] == [
        '==> [setup] building mmcv', '==> [setup] installing the rest']
    text = log.read_text()
    assert '[300/300] c++ -c file_300.cpp' in text and 'warning: unused 300' in text and 'collected' in text


def test_failing_setup_step_prints_the_log_tail_and_stops_with_its_status(tmp_path):
    log = tmp_path / 'setup.log'
    result = run_steps(log, ('building mmcv', COMPILER_OUTPUT + '; echo "error: no ninja" >&2; exit 3'),
                       ('never run', 'echo never'))
    assert result.returncode == 3
    assert 'building mmcv: failed (exit status 3)' in result.stdout and str(log) in result.stdout
    assert 'never' not in result.stdout
    shown = result.stderr.splitlines()
    assert shown[-1] == 'error: no ninja' and 'warning: unused 300' in shown
    assert 'warning: unused 1' not in shown  # the tail, not the whole log
    assert '[1/300] c++ -c file_1.cpp' in log.read_text()
