// What a database browser built on JDBC (DBeaver's navigator, Metabase's
// sync, Tableau) asks of `stream --pg` through the PostgreSQL JDBC driver
// (pgjdbc), run by the integration test `clients::` (tests/it/clients.rs):
//
//     java -cp postgresql.jar tests/clients/Browse.java PORT
//
// Prints one JSON object; a step that fails has {"error": "..."} instead of
// its answer. The test compares the answers with the run's tables and with
// counts it makes from the fixture.

import java.sql.*;
import java.util.*;

public class Browse {
    interface Step {
        Object run(Connection c) throws SQLException;
    }

    public static void main(String[] args) throws Exception {
        String url = "jdbc:postgresql://127.0.0.1:" + args[0] + "/tweetstream?user=tweetstream";
        Map<String, Step> steps = new LinkedHashMap<>();
        steps.put("product", c -> c.getMetaData().getDatabaseProductName() + " "
                + c.getMetaData().getDatabaseMajorVersion());
        steps.put("catalogs", c -> column(c.getMetaData().getCatalogs(), "TABLE_CAT"));
        steps.put("schemas", c -> column(c.getMetaData().getSchemas(), "TABLE_SCHEM"));
        steps.put("tables", c -> column(
                c.getMetaData().getTables(null, "public", "%", new String[] {"TABLE"}), "TABLE_NAME"));
        steps.put("columns", c -> {
            Map<String, String> columns = new LinkedHashMap<>();
            ResultSet rs = c.getMetaData().getColumns(null, "public", "tag_totals", "%");
            while (rs.next()) {
                columns.put(rs.getString("COLUMN_NAME"), rs.getString("TYPE_NAME"));
            }
            return columns;
        });
        steps.put("primary_keys", c -> column(c.getMetaData().getPrimaryKeys(null, "public", "tag_totals"), "COLUMN_NAME"));
        steps.put("indexes", c -> column(c.getMetaData().getIndexInfo(null, "public", "tag_totals", false, true), "INDEX_NAME"));
        steps.put("imported_keys", c -> column(c.getMetaData().getImportedKeys(null, "public", "tag_totals"), "FKCOLUMN_NAME"));
        steps.put("exported_keys", c -> column(c.getMetaData().getExportedKeys(null, "public", "tag_totals"), "FKCOLUMN_NAME"));
        steps.put("type_info", c -> column(c.getMetaData().getTypeInfo(), "TYPE_NAME").size() > 0);
        steps.put("top", c -> {
            PreparedStatement p = c.prepareStatement(
                    "select tag, count from tag_totals where count >= ? order by count desc, tag limit ?");
            p.setInt(1, 2);
            p.setInt(2, 5);
            ResultSet rs = p.executeQuery();
            List<List<Object>> rows = new ArrayList<>();
            while (rs.next()) {
                rows.add(List.of(rs.getString(1), rs.getLong(2)));
            }
            return rows;
        });
        steps.put("int_param", c -> {
            PreparedStatement p = c.prepareStatement("select ? + 1");
            p.setInt(1, 41);
            ResultSet rs = p.executeQuery();
            rs.next();
            return rs.getMetaData().getColumnTypeName(1) + " " + rs.getLong(1);
        });
        StringBuilder out = new StringBuilder("{");
        try (Connection c = DriverManager.getConnection(url)) {
            for (Map.Entry<String, Step> step : steps.entrySet()) {
                if (out.length() > 1) {
                    out.append(", ");
                }
                out.append(json(step.getKey())).append(": ");
                try {
                    out.append(json(step.getValue().run(c)));
                } catch (SQLException e) {
                    out.append("{\"error\": ").append(json(e.getMessage())).append("}");
                }
            }
        }
        System.out.println(out.append("}"));
    }

    static List<String> column(ResultSet rs, String name) throws SQLException {
        List<String> values = new ArrayList<>();
        while (rs.next()) {
            values.add(rs.getString(name));
        }
        return values;
    }

    static String json(Object v) {
        if (v == null) {
            return "null";
        } else if (v instanceof String s) {
            StringBuilder b = new StringBuilder("\"");
            for (char ch : s.toCharArray()) {
                if (ch == '"' || ch == '\\') {
                    b.append('\\').append(ch);
                } else if (ch < 0x20) {
                    b.append(String.format("\\u%04x", (int) ch));
                } else {
                    b.append(ch);
                }
            }
            return b.append('"').toString();
        } else if (v instanceof Map<?, ?> m) {
            StringJoiner j = new StringJoiner(", ", "{", "}");
            m.forEach((k, x) -> j.add(json(k.toString()) + ": " + json(x)));
            return j.toString();
        } else if (v instanceof List<?> l) {
            StringJoiner j = new StringJoiner(", ", "[", "]");
            l.forEach(x -> j.add(json(x)));
            return j.toString();
        }
        return v.toString();
    }
}
