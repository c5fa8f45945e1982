"""Units (单位): the departments and centres cases are dispatched to."""
