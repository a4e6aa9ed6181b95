"""Writing files: checked targets (:mod:`.targets`), atomic writes (:mod:`.atomic`), the writers (:mod:`.writers`)."""
