"""Cases: one per customer, grouping its alerts, with the customer 360 header and a timeline."""
