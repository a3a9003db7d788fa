/**
 * SQL of migration 2: `send_message`, which commits a message in one
 * statement, so that a send costs one round trip to PostgreSQL instead of
 * one per step. Called outside an explicit transaction, the statement is its
 * own transaction: it commits when it returns and rolls back as a whole when
 * it raises.
 *
 * It runs the same steps, locks and error cases as a send made of separate
 * statements, in the same order. It claims the idempotency key, increments
 * the conversation's last_seq (the row lock that serializes sends to one
 * conversation), reads the members after that lock, inserts the message,
 * records the key's seq, counts unread messages, touches the members'
 * conversation lists, and advances the members' log heads in user id order
 * before inserting their events. The function is VOLATILE, so in READ
 * COMMITTED each statement in it sees what other transactions committed
 * before that statement started, as separate statements would.
 *
 * Results:
 * - the key was taken already: one row with replayed = true, the key's
 *   conversation_id, and the stored message's columns when the key belongs
 *   to `conversation` (NULL otherwise); nothing is written.
 * - the conversation is missing or the sender is not a member: it raises
 *   SQLSTATE CW404 (CONVERSATION_NOT_FOUND_SQLSTATE), which rolls back the
 *   key claim.
 * - otherwise: one row with replayed = false, the new seq, and the log head
 *   of each member (user_ids and heads, in user id order). Each member's
 *   event is at its new head.
 *
 * The event payload is the protobuf encoding of chatwire.v1.Event with
 * kind.message set, built here because the seq is known only here. The
 * caller encodes the Message fields before seq (`head_bytes`: field 1) and
 * after it (`tail_bytes`: fields 3 to 8). Concatenated with the seq (field
 * 2, varint) and wrapped in MessageEvent.message (field 1) and
 * Event.message (field 2), the bytes equal protobuf-es's toBinary of the
 * same Event, which writes fields in field number order.
 */

/** SQLSTATE that `send_message` raises when the conversation is missing or the sender is not a member. */
export const CONVERSATION_NOT_FOUND_SQLSTATE = "CW404";

export const SEND_MESSAGE_FUNCTION = `
      -- The protobuf base-128 varint of a value from 0 to 2^63 - 1.
      CREATE FUNCTION {schema}.protobuf_varint(value bigint) RETURNS bytea
      LANGUAGE plpgsql IMMUTABLE STRICT AS $function$
      DECLARE
        encoded bytea := ''::bytea;
        rest bigint := value;
      BEGIN
        IF rest < 0 THEN
          RAISE EXCEPTION 'protobuf_varint got %, which is negative', value;
        END IF;
        WHILE rest >= 128 LOOP
          encoded := encoded || set_byte(decode('00', 'hex'), 0, ((rest & 127) | 128)::integer);
          rest := rest >> 7;
        END LOOP;
        RETURN encoded || set_byte(decode('00', 'hex'), 0, rest::integer);
      END
      $function$;

      -- A length-delimited protobuf field: tag byte, varint length, bytes.
      CREATE FUNCTION {schema}.protobuf_field(tag integer, content bytea) RETURNS bytea
      LANGUAGE sql IMMUTABLE STRICT AS $function$
        SELECT set_byte(decode('00', 'hex'), 0, tag) || {schema}.protobuf_varint(length(content)) || content
      $function$;

      CREATE FUNCTION {schema}.send_message(
        sender text,
        sender_device text,
        conversation text,
        client_message text,
        new_message_id text,
        body bytea,
        now_ms bigint,
        head_bytes bytea,
        tail_bytes bytea
      )
      RETURNS TABLE (
        replayed boolean,
        conversation_id text,
        seq bigint,
        message_id text,
        sender_device_id text,
        text bytea,
        created_at bigint,
        user_ids text[],
        heads bigint[]
      )
      LANGUAGE plpgsql VOLATILE AS $function$
      #variable_conflict use_column
      DECLARE
        key_conversation text;
        key_seq bigint;
        new_seq bigint;
        members text[];
        log_users text[];
        log_heads bigint[];
        event_payload bytea;
      BEGIN
        -- A concurrent claim of the same key waits here until the other
        -- transaction commits or rolls back.
        INSERT INTO {schema}.message_keys (sender_id, client_message_id, conversation_id, seq)
          VALUES (sender, client_message, conversation, 0)
          ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
          SELECT k.conversation_id, k.seq INTO key_conversation, key_seq
            FROM {schema}.message_keys k
           WHERE k.sender_id = sender AND k.client_message_id = client_message;
          RETURN QUERY
            SELECT true, key_conversation, m.seq, m.message_id, m.sender_device_id, m.text, m.created_at,
                   NULL::text[], NULL::bigint[]
              FROM (SELECT 1) AS one
              LEFT JOIN {schema}.messages m
                ON key_conversation = conversation AND m.conversation_id = key_conversation AND m.seq = key_seq;
          RETURN;
        END IF;

        UPDATE {schema}.conversations c
           SET last_seq = c.last_seq + 1, activity_at = GREATEST(c.activity_at, now_ms)
         WHERE c.conversation_id = conversation
        RETURNING c.last_seq INTO new_seq;
        IF new_seq IS NULL THEN
          RAISE EXCEPTION 'conversation % not found', conversation USING ERRCODE = 'CW404';
        END IF;
        -- Read after the row lock, so the members are those the last membership change committed.
        SELECT array_agg(m.user_id ORDER BY m.user_id) INTO members
          FROM {schema}.members m
         WHERE m.conversation_id = conversation;
        IF members IS NULL OR NOT (sender = ANY(members)) THEN
          RAISE EXCEPTION 'sender % is not a member of conversation %', sender, conversation USING ERRCODE = 'CW404';
        END IF;

        INSERT INTO {schema}.messages
            (conversation_id, seq, message_id, sender_id, sender_device_id, client_message_id, text, created_at)
          VALUES (conversation, new_seq, new_message_id, sender, sender_device, client_message, body, now_ms);
        UPDATE {schema}.message_keys k SET seq = new_seq
         WHERE k.sender_id = sender AND k.client_message_id = client_message;
        UPDATE {schema}.members m SET unread_count = m.unread_count + 1
         WHERE m.conversation_id = conversation AND m.user_id <> sender;
        UPDATE {schema}.user_conversations u SET activity_at = GREATEST(u.activity_at, now_ms)
         WHERE u.conversation_id = conversation AND u.user_id = ANY(members);

        -- INSERT ... SELECT ... ORDER BY locks the head rows in user id order,
        -- the lock order every writer keeps.
        WITH advanced AS (
          INSERT INTO {schema}.user_logs AS l (user_id, head, pruned_through)
            SELECT t.user_id, 1, 0 FROM unnest(members) AS t(user_id)
            ORDER BY t.user_id
            ON CONFLICT (user_id) DO UPDATE SET head = l.head + 1
            RETURNING l.user_id, l.head
        )
        SELECT array_agg(a.user_id ORDER BY a.user_id), array_agg(a.head ORDER BY a.user_id)
          INTO log_users, log_heads
          FROM advanced a;

        -- Event.message (field 2) { MessageEvent.message (field 1) { fields 1, 2 (seq), 3 to 8 } }
        event_payload := {schema}.protobuf_field(18, {schema}.protobuf_field(10,
          head_bytes || set_byte(decode('00', 'hex'), 0, 16) || {schema}.protobuf_varint(new_seq) || tail_bytes));
        INSERT INTO {schema}.events (user_id, position, created_at, payload)
          SELECT t.user_id, t.position, now_ms, event_payload
            FROM unnest(log_users, log_heads) AS t(user_id, position);

        RETURN QUERY
          SELECT false, conversation, new_seq, new_message_id, sender_device, body, now_ms, log_users, log_heads;
      END
      $function$;
`;
