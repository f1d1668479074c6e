"""Placeholder: simulation claims of Figure 4, the temperature restatement and the autodiff rule."""
