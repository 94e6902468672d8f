-- Seat accounting in O(1) (PostgreSQL). Keep in step with migrations/sqlite.
-- seats_held counts the users of a user-based license and the active devices
-- of a computer-based one; the use case that changes either changes it in the
-- same transaction, under the license's row lock. Deactivated devices whose
-- offline license file still runs hold a seat too: they are few, and counted
-- through devices_license_seat_release, which reaches only those whose
-- release is still ahead.
ALTER TABLE licenses ADD COLUMN seats_held INTEGER NOT NULL DEFAULT 0;

UPDATE licenses
SET seats_held = CASE kind
    WHEN 'user_based' THEN (SELECT count(*) FROM license_users WHERE license_users.license_id = licenses.id)
    ELSE (SELECT count(*) FROM devices WHERE devices.license_id = licenses.id AND devices.status = 'active')
END;

CREATE INDEX devices_license_seat_release ON devices (license_id, seat_released_at) WHERE seat_released_at IS NOT NULL;
