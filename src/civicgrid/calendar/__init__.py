"""The working-day calendar (工作日历): official holidays, make-up workdays and working time."""
