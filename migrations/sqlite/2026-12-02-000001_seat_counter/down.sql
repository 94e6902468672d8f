DROP INDEX devices_license_seat_release;
ALTER TABLE licenses DROP COLUMN seats_held;
