-- What the marts cover: first/last revenue day and the freshness timestamp.
select
    (select min(day) from {{ marts }}.revenue_daily) as first_day,
    (select max(day) from {{ marts }}.revenue_daily) as last_day,
    (select max(data_as_of) from {{ marts }}.data_freshness) as data_as_of
