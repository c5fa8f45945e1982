"""The command dashboard (指挥中心大屏): map, live counters, trends and drill-down, all scoped."""
