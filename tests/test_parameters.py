import pytest

from dystress.pipeline.parameters import check_parameters


def namespace(**overrides):
    """A notebook's globals when its check cell runs: IPython's own names, the declared parameters and what
    papermill injected (``overrides``)."""
    ns = {"__name__": "__main__", "__builtins__": {}, "_ih": [], "_i1": "", "In": [], "Out": {}, "exit": None,
          "quit": None, "get_ipython": None, "check_parameters": check_parameters,
          "__annotations__": {"profile": str, "tau_max": float, "epochs": int, "taus": list[float]},
          "profile": "smoke", "tau_max": 0.2, "epochs": 3, "taus": [0.1, 0.2]}
    ns.update(overrides)
    return ns


def test_defaults_pass_and_are_returned():
    assert check_parameters(namespace()) == {"profile": "smoke", "tau_max": 0.2, "epochs": 3, "taus": [0.1, 0.2]}


def test_injected_known_parameters_pass_and_int_is_a_float():
    ns = namespace(tau_max=1, profile="small")
    assert check_parameters(ns)["tau_max"] == 1


def test_unknown_injected_parameter_is_named():
    ns = namespace(tau_maxx=0.3)
    with pytest.raises(ValueError, match="unknown notebook parameter 'tau_maxx'; this notebook declares: profile, "
                                         "tau_max, epochs, taus"):
        check_parameters(ns)


@pytest.mark.parametrize("name,value", [("tau_max", "0.3"), ("epochs", 2.5), ("epochs", True), ("taus", [0.1, "x"]),
                                        ("profile", 3)])
def test_wrong_types_are_named(name, value):
    with pytest.raises(ValueError, match=f"notebook parameter '{name}' must be of type"):
        check_parameters(namespace(**{name: value}))


def test_unknown_profile():
    with pytest.raises(ValueError, match="'profile' must be one of smoke, small, paper"):
        check_parameters(namespace(profile="huge"))


def test_no_declared_parameters():
    with pytest.raises(ValueError, match="no parameters declared"):
        check_parameters({"In": []})


@pytest.mark.parametrize("annotation", [float | None, "typing.Optional"])
def test_optional_parameters_accept_none_and_their_type_only(annotation):
    import typing

    expected = typing.Optional[float] if annotation == "typing.Optional" else annotation
    for value in (None, 0.5, 2):
        assert check_parameters({"__annotations__": {"seed_tau": expected}, "seed_tau": value, "In": []}) \
            == {"seed_tau": value}
    with pytest.raises(ValueError, match="'seed_tau' must be of type"):
        check_parameters({"__annotations__": {"seed_tau": expected}, "seed_tau": "x", "In": []})
