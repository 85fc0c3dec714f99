"""fastblas.show_config: its dict agrees with threadpoolctl; its report prints."""
import os
import sys

import pytest
import scipy

import fastblas

threadpoolctl = pytest.importorskip("threadpoolctl")

KEYS = {"library", "version", "architecture", "num_threads", "threading_layer", "filepath"}


def blas_pools():
    import scipy.linalg.cython_blas  # noqa: F401
    return [p for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]


def scipys_pool():
    """The BLAS library SciPy loaded, found independently of fastblas's rule."""
    import scipy.linalg.cython_blas as cython_blas
    extension = os.path.realpath(cython_blas.__file__)
    # SciPy's wheels: scipy.libs/ beside scipy/; other builds link one system BLAS
    site = os.path.dirname(os.path.dirname(os.path.dirname(extension)))
    pools = blas_pools()
    ours = [p for p in pools if os.path.realpath(p["filepath"]).startswith(site + os.sep + "scipy")]
    return (ours or pools)[0]


def test_dict_describes_scipys_blas_as_threadpoolctl_sees_it():
    config = fastblas.show_config(mode="dicts")
    assert set(config) == {"scipy_version", "blas", "other_blas", "threads_hint", "two_pools_hint"}
    assert config["scipy_version"] == scipy.__version__
    blas = config["blas"]
    assert set(blas) == KEYS | {"build_name", "build_configuration"}
    pool = scipys_pool()
    assert blas["filepath"] == pool["filepath"]
    assert blas["library"] == pool["internal_api"]
    assert blas["version"] == pool["version"]
    assert blas["architecture"] == pool.get("architecture")
    assert blas["num_threads"] == pool["num_threads"]
    build = scipy.show_config(mode="dicts")["Build Dependencies"]["blas"]
    assert blas["build_name"] == build["name"]


def test_other_blas_libraries_are_listed():
    config = fastblas.show_config(mode="dicts")
    others = {p["filepath"] for p in blas_pools()} - {config["blas"]["filepath"]}
    assert {o["filepath"] for o in config["other_blas"]} == others
    for other in config["other_blas"]:
        assert set(other) == KEYS


@pytest.mark.parametrize("limit", [1, 2])
def test_thread_count_follows_threadpoolctl(limit):
    with threadpoolctl.threadpool_limits(limits=limit, user_api="blas"):
        config = fastblas.show_config(mode="dicts")
        expected = scipys_pool()["num_threads"]     # capped at what the library allows
    assert config["blas"]["num_threads"] == expected
    assert "threadpool_limits" in config["threads_hint"]


def test_prints_the_running_kernel_and_how_to_change_threads(capsys):
    config = fastblas.show_config()
    out = capsys.readouterr().out
    assert config == fastblas.show_config(mode="dicts")
    assert capsys.readouterr().out == ""          # "dicts" does not print
    blas = config["blas"]
    assert f"SciPy {scipy.__version__}" in out
    assert blas["version"] in out
    if blas["architecture"]:
        assert f"{blas['architecture']} kernel" in out
    assert f"{blas['num_threads']} thread" in out
    assert "To change the thread count" in out and "threadpool_limits" in out
    for other in config["other_blas"]:
        assert other["filepath"] in out


@pytest.mark.parametrize("limit", [1, 2])
def test_warns_of_two_pools_in_turn_only_beside_several_threads(limit, capsys):
    with threadpoolctl.threadpool_limits(limits=limit, user_api="blas"):
        config = fastblas.show_config()
        pools = [pool for pool in threadpoolctl.threadpool_info() if pool["user_api"] == "blas"]
    out = capsys.readouterr().out
    expected = len(pools) > 1 and any(pool["num_threads"] > 1 for pool in pools)
    assert (config["two_pools_hint"] is not None) == expected
    assert ("in turn" in out) == expected
    if limit == 1:
        assert config["two_pools_hint"] is None


def test_without_threadpoolctl_says_how_to_get_the_details(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)   # import fails
    config = fastblas.show_config(mode="dicts")
    assert config["blas"]["architecture"] is None and config["blas"]["num_threads"] is None
    assert config["blas"]["version"] == scipy.show_config(
        mode="dicts")["Build Dependencies"]["blas"]["version"]
    assert "pip install threadpoolctl" in config["threads_hint"]
    fastblas.show_config()
    assert "pip install threadpoolctl" in capsys.readouterr().out


def test_bad_mode_is_named():
    with pytest.raises(ValueError, match="mode"):
        fastblas.show_config(mode="json")
