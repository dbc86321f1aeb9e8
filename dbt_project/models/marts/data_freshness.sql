-- One row: data_as_of, the greatest source created_at the marts were built from.
select data_as_of
from {{ ref('int_thelook__data_span') }}
