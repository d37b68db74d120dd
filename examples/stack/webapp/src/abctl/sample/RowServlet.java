package abctl.sample;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.naming.InitialContext;
import javax.naming.NamingException;
import javax.sql.DataSource;

/**
 * Prints the first column of the first row the query in web.xml (context parameter "query")
 * returns, read through the container's DataSource java:comp/env/jdbc/appdb. The three-tier
 * walk-through checks this text through nginx.
 */
public class RowServlet extends HttpServlet {
  @Override
  protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
    resp.setContentType("text/plain;charset=UTF-8");
    String query = getServletContext().getInitParameter("query");
    try {
      DataSource ds = (DataSource) new InitialContext().lookup("java:comp/env/jdbc/appdb");
      try (Connection c = ds.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(query)) {
        if (rs.next()) {
          resp.getWriter().println(rs.getString(1));
        } else {
          resp.setStatus(404);
          resp.getWriter().println("no row");
        }
      }
    } catch (NamingException | SQLException e) {
      resp.setStatus(500);
      resp.getWriter().println("error: " + e.getMessage());
    }
  }
}
