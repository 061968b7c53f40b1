"""Private names of frameworks the code relies on, where no public API does the job.
Each test names the user of the private name; when an upgrade removes it, this fails
loudly here instead of subtly in the app (pyproject.toml also bounds those versions)."""


def test_matplotlib_canvas_pixel_ratio_hook_exists():
    # workbench/charts/base.py: the render thread sets the screen's pixel ratio on the
    # figure's Agg canvas (_set_device_pixel_ratio scales the dpi, as Qt's canvas does).
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    assert callable(getattr(FigureCanvasAgg, "_set_device_pixel_ratio", None))


def test_keras_global_state_for_symbolic_variables_exists():
    # training/models/backbones.py symbolic_variables(): drops the lazily created
    # variables Keras lists under "uninitialized_variables".
    from keras.src.backend.common import global_state

    assert callable(global_state.get_global_attribute)
    assert callable(global_state.set_global_attribute)
    import keras

    before = list(global_state.get_global_attribute("uninitialized_variables") or [])
    with keras.StatelessScope(initialize_variables=False):
        keras.layers.Dense(3).build((None, 2))
    assert len(global_state.get_global_attribute("uninitialized_variables") or []) > len(before)
    global_state.set_global_attribute("uninitialized_variables", before)
