//! The floor simulator (`floorwatch simulate`, `serve --demo`). Being written.
